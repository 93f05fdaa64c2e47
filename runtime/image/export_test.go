package image

// SetFailpointHook lets the crash tests stop the process at a commit step.
func SetFailpointHook(f func(step string)) { failpointHook = f }
