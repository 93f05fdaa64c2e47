package main

import "github.com/spf13/cobra"

// newCmdBuild answers `berth build` in one line: Berth runs images and does
// not build them.
func newCmdBuild(streams *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:                "build",
		Short:              "Berth does not build images (use BuildKit, podman build or docker buildx, then berth load)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("berth runs images and does not build them: build with buildctl (BuildKit), podman build or docker buildx, then berth load -i image.tar or push to a registry and berth pull")
		},
	}
}
