// Package mirror is Berth's model of registry mirrors, the transport every
// registry request of a pull goes through, and the tools that say whether a
// mirror works.
//
// NewConfig turns daemon.json's registry-mirrors, insecure-registries and
// mirrors into a Config, rejecting mistakes with one line that says what to
// write instead. Config.Endpoints lists, for one registry, the mirrors in order
// and then the registry itself unless fallback is disabled. A Session is one
// pull's view of those endpoints: its per-endpoint http.RoundTrippers carry the
// endpoint's TLS settings and mark the endpoint failed when it refuses, times
// out, answers 5xx, 403 or 429, so the pull moves on to the next candidate and,
// when none is left, Err names every endpoint and why it was passed over.
// Stall watches a blob's body against a speed floor; Health is the circuit
// breaker that remembers endpoints across pulls.
//
// A Prober checks an endpoint step by step (DNS to a ranged layer GET and a
// comparison of the tag with the upstream), naming each failure as a Problem;
// Rank orders the reports. Settings and Document edit daemon.json's mirror
// keys while keeping the rest of the file; Import* and Export* translate them
// from and to Docker's daemon.json, containerd's hosts.toml directories and
// containers-registries.conf, with a small strict TOML reader of their own.
//
// The package speaks plain net/http; it does not depend on go-containerregistry,
// though its endpoints map directly onto go-containerregistry references (see
// Endpoint).
package mirror
