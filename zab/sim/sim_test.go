package sim

import (
	"flag"
	"fmt"
	"testing"
	"time"
)

var (
	flagSeeds = flag.Int("zab.seeds", 1000, "seeds per ensemble size in TestSimulation")
	flagSeed  = flag.Int64("zab.seed", -1, "replay only this seed")
	flagSteps = flag.Int("zab.steps", 3000, "fault-phase steps per seed")
	flagTrace = flag.Bool("zab.trace", false, "print every event (use with -zab.seed)")
	flagSplit = flag.Bool("zab.split-install", false,
		"let a crash keep a SNAP install without all its appends, as server/ does today (finds lost writes)")
)

// TestSimulation runs seeded ensembles of 3 and 5 members; a failure prints
// the command that replays it exactly.
func TestSimulation(t *testing.T) {
	for _, members := range []int{3, 5} {
		t.Run(fmt.Sprintf("members=%d", members), func(t *testing.T) {
			t.Parallel()
			first, n := int64(1), int64(*flagSeeds)
			if *flagSeed >= 0 {
				first, n = *flagSeed, 1
			}
			start := time.Now()
			var total Result
			for seed := first; seed < first+n; seed++ {
				rc := RunConfig{Members: members, Seed: seed, Steps: *flagSteps, LivenessRounds: 300, SplitInstall: *flagSplit}
				if *flagTrace {
					rc.Trace = func(s string) { t.Log(s) }
				}
				res, err := Run(rc)
				if err != nil {
					t.Fatalf("seed %d, %d members: %v\nreplay: go test ./zab/sim -run 'TestSimulation/members=%d$' -zab.seed=%d%s -zab.trace -v",
						seed, members, err, members, seed, splitFlag())
				}
				total.add(res)
			}
			t.Logf("%d seeds, %d members: %d fault steps + %d liveness rounds, %d ticks, %d sessions, %d writes, %d requests taken, %d replies, %d committed zxids, %d crashes, %d breaks, %d elections in %v",
				n, members, total.Steps, total.Rounds, total.Ticks, total.Sessions, total.Writes, total.Proposals, total.Acks, total.Commits,
				total.Crashes, total.Breaks, total.Elections, time.Since(start).Round(time.Millisecond))
			t.Logf("events: %v", total.Stats)
		})
	}
}

func (r *Result) add(o Result) {
	r.Steps += o.Steps
	r.Rounds += o.Rounds
	r.Ticks += o.Ticks
	r.Proposals += o.Proposals
	r.Commits += o.Commits
	r.Crashes += o.Crashes
	r.Breaks += o.Breaks
	r.Elections += o.Elections
	r.Sessions += o.Sessions
	r.Writes += o.Writes
	r.Acks += o.Acks
	if r.Stats == nil {
		r.Stats = map[string]int{}
	}
	for k, v := range o.Stats {
		r.Stats[k] += v
	}
}

func splitFlag() string {
	if *flagSplit {
		return " -zab.split-install"
	}
	return ""
}
