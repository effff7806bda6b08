package zxid

import "testing"

func TestZxidParts(t *testing.T) {
	z := New(1, 5)
	if z.Epoch() != 1 || z.Counter() != 5 {
		t.Fatalf("parts of %v: epoch %d counter %d", z, z.Epoch(), z.Counter())
	}
	if z.String() != "0x100000005" {
		t.Fatalf("String = %q", z.String())
	}
	p, err := Parse(z.String())
	if err != nil || p != z {
		t.Fatalf("Parse(%q) = %v, %v", z.String(), p, err)
	}
	if New(0xffffffff, 0xffffffff).Epoch() != 0xffffffff {
		t.Fatal("high epoch lost")
	}
}
