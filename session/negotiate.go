package session

// Negotiate clamps a client's requested session timeout into [minMs, maxMs],
// as the server does before answering a ConnectRequest. A broken range
// (min > max) is a configuration bug that conf/ must reject, so it panics.
func Negotiate(requestedMs, minMs, maxMs int32) int32 {
	if minMs > maxMs {
		panic("session: Negotiate with minMs > maxMs")
	}
	if requestedMs < minMs {
		return minMs
	}
	if requestedMs > maxMs {
		return maxMs
	}
	return requestedMs
}
