package image

// failpointHook, when set (only by tests), is called at each commit step of
// the store; the crash tests make it kill the process there.
var failpointHook func(step string)

func failpoint(step string) {
	if failpointHook != nil {
		failpointHook(step)
	}
}
