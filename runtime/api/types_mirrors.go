package api

// MirrorHealth is one registry endpoint as the engine's circuit breaker
// remembers it: Berth's addition to /info, which Docker's clients ignore.
// Times are RFC 3339; empty when never.
type MirrorHealth struct {
	Registry string `json:"Registry"`
	Endpoint string `json:"Endpoint"`
	// Mirror is false for the registry itself.
	Mirror bool `json:"Mirror"`
	// Used is false for the registry itself when its fallback is off.
	Used bool `json:"Used"`
	// State is "ok", "failing" (tried again), "cooling-down" (tried after
	// the others until CoolUntil) or "unknown" (not used yet).
	State       string `json:"State"`
	LastSuccess string `json:"LastSuccess,omitempty"`
	LastFailure string `json:"LastFailure,omitempty"`
	LastError   string `json:"LastError,omitempty"`
	Failures    int    `json:"Failures,omitempty"`
	CoolUntil   string `json:"CoolUntil,omitempty"`
}
