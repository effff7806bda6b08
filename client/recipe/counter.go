package recipe

// Counter: a shared integer.
//
// Znodes: one persistent node, <path>, whose data is the value in decimal
// ASCII (missing node = 0). Add reads the value and its version and writes
// the sum with that version; a concurrent writer makes it fail with
// BadVersion, and Add retries, so no increment is lost.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// Counter is the integer at path.
type Counter struct {
	c    *client.Client
	path string
}

// NewCounter is the counter at path.
func NewCounter(c *client.Client, path string) *Counter { return &Counter{c: c, path: path} }

// Get is the current value.
func (k *Counter) Get(ctx context.Context) (int64, error) {
	v, _, err := k.read(ctx)
	return v, err
}

// read returns the value and its version; -1 version when the node is missing.
func (k *Counter) read(ctx context.Context) (int64, int32, error) {
	data, st, err := k.c.Get(ctx, k.path)
	if isGone(err) {
		return 0, -1, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if len(data) == 0 {
		return 0, st.Version, nil
	}
	v, perr := strconv.ParseInt(string(data), 10, 64)
	if perr != nil {
		return 0, 0, fmt.Errorf("%w: %q at %s", ErrBadNumber, data, k.path)
	}
	return v, st.Version, nil
}

// Add adds delta (compare-and-set on the node version, retried on
// conflict) and returns the new value.
func (k *Counter) Add(ctx context.Context, delta int64) (int64, error) {
	for {
		v, ver, err := k.read(ctx)
		if err != nil {
			return 0, err
		}
		next := []byte(strconv.FormatInt(v+delta, 10))
		if ver < 0 {
			if err := ensurePath(ctx, k.c, parent(k.path)); err != nil {
				return 0, err
			}
			_, err = k.c.Create(ctx, k.path, next, client.Persistent, nil)
		} else {
			_, err = k.c.Set(ctx, k.path, next, ver)
		}
		switch {
		case err == nil:
			return v + delta, nil
		case errors.Is(err, jute.ErrBadVersion), errors.Is(err, jute.ErrNodeExists), isGone(err):
			continue
		default:
			return 0, err
		}
	}
}
