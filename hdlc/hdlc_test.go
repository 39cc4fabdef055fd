// SPDX-License-Identifier: MIT

package hdlc

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/pptp-go/pptp/internal/testhex"
)

// lcpTermReq is LCP Terminate-Request id 1 with address/control (reference §6.5).
var lcpTermReq = []byte{0xFF, 0x03, 0xC0, 0x21, 0x05, 0x01, 0x00, 0x04}

var mustHex = testhex.Bytes

func TestFCS16Vector(t *testing.T) {
	fcs := ^FCS16(InitFCS, lcpTermReq)
	if lo, hi := byte(fcs), byte(fcs>>8); lo != 0x3D || hi != 0xC7 {
		t.Fatalf("FCS bytes = %02X %02X, want 3D C7", lo, hi)
	}
	withFCS := append(append([]byte(nil), lcpTermReq...), 0x3D, 0xC7)
	if got := FCS16(InitFCS, withFCS); got != GoodFCS {
		t.Fatalf("residue = %#04x, want %#04x", got, GoodFCS)
	}
	// Incremental computation must match one-shot.
	if got := FCS16(FCS16(InitFCS, withFCS[:3]), withFCS[3:]); got != GoodFCS {
		t.Fatalf("incremental residue = %#04x", got)
	}
	// RFC 1662 check value of "123456789" for this CRC (CRC-16/X-25) is 0x906E.
	if got := ^FCS16(InitFCS, []byte("123456789")); got != 0x906E {
		t.Fatalf("check value = %#04x, want 0x906e", got)
	}
}

func TestAppendFrameVector(t *testing.T) {
	want := mustHex(t, "7eff7d23c0217d257d217d207d243dc77e")
	got := AppendFrame(nil, lcpTermReq, DefaultACCM)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame = % X\nwant          % X", got, want)
	}
	// With ACCM 0 only flag/escape are escaped.
	got = AppendFrame([]byte("x"), []byte{0x01, 0x7E, 0x7D, 0x20}, 0)
	fcs := ^FCS16(InitFCS, []byte{0x01, 0x7E, 0x7D, 0x20})
	want = []byte{'x', 0x7E, 0x01, 0x7D, 0x5E, 0x7D, 0x5D, 0x20}
	want = appendEscaped(want, []byte{byte(fcs), byte(fcs >> 8)}, 0)
	want = append(want, 0x7E)
	if !bytes.Equal(got, want) {
		t.Fatalf("ACCM 0: % X, want % X", got, want)
	}
	// Selective ACCM: only bit 0x11 (XON) set.
	got = AppendFrame(nil, []byte{0x11, 0x13, 0xFF, 0xFF}, 1<<0x11)
	if !bytes.HasPrefix(got, []byte{0x7E, 0x7D, 0x31, 0x13, 0xFF, 0xFF}) {
		t.Fatalf("ACCM XON: % X", got)
	}
}

func decodeAll(d *Decoder, p []byte) [][]byte {
	var out [][]byte
	d.Decode(p, func(f []byte) { out = append(out, append([]byte(nil), f...)) })
	return out
}

func TestDecoderVector(t *testing.T) {
	var d Decoder
	wire := mustHex(t, "7eff7d23c0217d257d217d207d243dc77e")
	got := decodeAll(&d, wire)
	if len(got) != 1 || !bytes.Equal(got[0], lcpTermReq) {
		t.Fatalf("got %X", got)
	}
	if d.Frames != 1 {
		t.Fatalf("Frames = %d", d.Frames)
	}
}

func TestDecoderErrors(t *testing.T) {
	good := AppendFrame(nil, lcpTermReq, DefaultACCM)
	badFCS := bytes.Clone(good)
	badFCS[len(badFCS)-2] ^= 1 // flip a bit of the FCS high byte
	tests := []struct {
		name   string
		in     []byte
		frames int
		want   Decoder
	}{
		{"back-to-back flags", []byte{0x7E, 0x7E, 0x7E}, 0, Decoder{}},
		{"shared flag", append(good, good[1:]...), 2, Decoder{Frames: 2}},
		{"bad fcs", badFCS, 0, Decoder{BadFCS: 1}},
		{"runt 3 bytes", []byte{0x7E, 0xFF, 0x03, 0x00, 0x7E}, 0, Decoder{Runts: 1}},
		{"abort", []byte{0x7E, 0xFF, 0x03, 0xC0, 0x21, 0x7D, 0x7E}, 0, Decoder{Aborted: 1}},
		{"abort then good", append([]byte{0x7E, 0x01, 0x7D}, good...), 1, Decoder{Frames: 1, Aborted: 1}},
		{"garbage before first flag", append([]byte{1, 2, 3, 4, 5}, good...), 1, Decoder{Frames: 1, BadFCS: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			got := decodeAll(&d, tt.in)
			if len(got) != tt.frames {
				t.Fatalf("%d frames, want %d", len(got), tt.frames)
			}
			for _, f := range got {
				if !bytes.Equal(f, lcpTermReq) {
					t.Fatalf("frame % X", f)
				}
			}
			c := Decoder{Frames: d.Frames, BadFCS: d.BadFCS, Runts: d.Runts, Overlong: d.Overlong, Aborted: d.Aborted}
			if c != tt.want {
				t.Fatalf("counters %+v, want %+v", counters(&c), counters(&tt.want))
			}
		})
	}
}

func counters(d *Decoder) [5]uint64 {
	return [5]uint64{d.Frames, d.BadFCS, d.Runts, d.Overlong, d.Aborted}
}

func TestDecoderOverlong(t *testing.T) {
	var d Decoder
	max := make([]byte, MaxFrameLen)
	for i := range max {
		max[i] = byte(i)
	}
	over := make([]byte, MaxFrameLen+1)
	var in []byte
	in = AppendFrame(in, over, DefaultACCM)
	in = AppendFrame(in, max, DefaultACCM)
	got := decodeAll(&d, in)
	if len(got) != 1 || !bytes.Equal(got[0], max) {
		t.Fatalf("got %d frames", len(got))
	}
	if d.Overlong != 1 || d.Frames != 1 {
		t.Fatalf("counters %v", counters(&d))
	}
}

func TestDecoderSpansCalls(t *testing.T) {
	var d Decoder
	var in []byte
	frames := [][]byte{lcpTermReq, {0xFF, 0x03, 0x00, 0x21, 0x7E, 0x7D, 0x00}, bytes.Repeat([]byte{0x7D}, 600)}
	for _, f := range frames {
		in = AppendFrame(in, f, DefaultACCM)
	}
	// Every split point, including inside an escape sequence.
	for cut := 0; cut <= len(in); cut++ {
		var got [][]byte
		emit := func(f []byte) { got = append(got, append([]byte(nil), f...)) }
		d.Decode(in[:cut], emit)
		d.Decode(in[cut:], emit)
		if len(got) != len(frames) {
			t.Fatalf("cut %d: %d frames", cut, len(got))
		}
		for i := range got {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("cut %d frame %d mismatch", cut, i)
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	frame := bytes.Repeat([]byte{0x00, 0x21, 0x7E, 0x45}, 350)
	dst := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { dst = AppendFrame(dst[:0], frame, DefaultACCM) }); n != 0 {
		t.Fatalf("AppendFrame allocs = %v", n)
	}
	d := new(Decoder)
	emitted := 0
	emit := func(f []byte) { emitted++ }
	if n := testing.AllocsPerRun(100, func() { d.Decode(dst, emit) }); n != 0 {
		t.Fatalf("Decode allocs = %v", n)
	}
	if emitted != 101 {
		t.Fatalf("emitted %d", emitted)
	}
}

// roundTrip encodes frames with accm, feeds the bytes in chunks chosen by
// rnd, and checks the decoder returns exactly the frames.
func roundTrip(t *testing.T, frames [][]byte, accm uint32, rnd *rand.Rand) {
	t.Helper()
	var wire []byte
	for _, f := range frames {
		wire = AppendFrame(wire, f, accm)
	}
	for i := 1; i < len(wire)-1; i++ {
		c := wire[i]
		if c == Flag && !(wire[i-1] == Flag || wire[i+1] == Flag) {
			t.Fatalf("unescaped flag inside a frame at %d", i)
		}
		if c < 0x20 && accm&(1<<c) != 0 {
			t.Fatalf("byte %#x not escaped under ACCM %#x", c, accm)
		}
	}
	var d Decoder
	var got [][]byte
	emit := func(f []byte) { got = append(got, append([]byte(nil), f...)) }
	for p := wire; len(p) > 0; {
		n := 1 + rnd.IntN(min(len(p), 64))
		d.Decode(p[:n], emit)
		p = p[n:]
	}
	want := 0
	for _, f := range frames {
		if len(f) >= minFrameLen-fcsLen {
			want++
		}
	}
	if len(got) != want {
		t.Fatalf("%d frames, want %d (counters %v)", len(got), want, counters(&d))
	}
	j := 0
	for _, f := range frames {
		if len(f) < minFrameLen-fcsLen {
			continue
		}
		if !bytes.Equal(got[j], f) {
			t.Fatalf("frame %d: % X, want % X", j, got[j], f)
		}
		j++
	}
}

func TestRoundTripRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		frames := make([][]byte, 1+rnd.IntN(8))
		for i := range frames {
			frames[i] = make([]byte, 2+rnd.IntN(1600))
			for j := range frames[i] {
				frames[i][j] = byte(rnd.IntN(256))
			}
		}
		roundTrip(t, frames, rnd.Uint32(), rnd)
	}
}

// FuzzRoundTrip checks AppendFrame→Decode returns the original frames for
// arbitrary frame contents, ACCMs and chunkings.
func FuzzRoundTrip(f *testing.F) {
	f.Add(lcpTermReq, uint32(DefaultACCM), uint64(1))
	f.Add([]byte{0x7E, 0x7D, 0x7E, 0x7D}, uint32(0), uint64(2)) // all flags and escapes
	f.Add([]byte{0xFF, 0x03}, uint32(0xA0000), uint64(3))       // 2-byte frame: shortest non-runt
	f.Add(bytes.Repeat([]byte{0x00, 0x1F}, 900), uint32(0x80000001), uint64(4))
	f.Fuzz(func(t *testing.T, data []byte, accm uint32, seed uint64) {
		if len(data) > MaxFrameLen {
			data = data[:MaxFrameLen]
		}
		rnd := rand.New(rand.NewPCG(seed, seed>>1))
		// Split data into up to 4 frames of at least 2 bytes.
		var frames [][]byte
		for len(data) >= 2 && len(frames) < 4 {
			n := 2 + rnd.IntN(len(data)-1)
			frames = append(frames, data[:n])
			data = data[n:]
		}
		if len(frames) == 0 {
			return
		}
		roundTrip(t, frames, accm, rnd)
	})
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must not panic, every
// emitted frame must carry a good FCS and respect the size bounds, and the
// counters must account for every closed frame.
func FuzzDecode(f *testing.F) {
	f.Add(AppendFrame(nil, lcpTermReq, DefaultACCM))
	f.Add([]byte{0x7E, 0x7E})                               // empty frame between flags
	f.Add([]byte{0x7E, 0x01, 0x02, 0x7E})                   // runt
	f.Add([]byte{0x7E, 0xFF, 0x03, 0xC0, 0x21, 0x7D, 0x7E}) // abort (escape then flag)
	f.Add([]byte{0x7D})                                     // lone escape at end of input
	f.Add([]byte{0x7E, 0xFF, 0x03, 0xC0, 0x21, 0x05, 0x7E}) // bad FCS
	f.Add(bytes.Repeat([]byte{0x7D, 0x5E}, MaxFrameLen))    // overlong after unescaping
	f.Fuzz(func(t *testing.T, in []byte) {
		var d Decoder
		d.Decode(in, func(fr []byte) {
			if len(fr) < minFrameLen-fcsLen || len(fr) > MaxFrameLen {
				t.Fatalf("frame length %d", len(fr))
			}
			// The FCS bytes still follow the frame in the decoder's buffer.
			if FCS16(InitFCS, fr[:len(fr)+fcsLen]) != GoodFCS {
				t.Fatal("emitted frame with bad FCS")
			}
		})
		if flags := uint64(bytes.Count(in, []byte{Flag})); d.Frames+d.BadFCS+d.Runts+d.Aborted > flags {
			t.Fatalf("more frames closed (%v) than flags (%d)", counters(&d), flags)
		}
	})
}

func BenchmarkAppendFrame(b *testing.B) {
	frame := make([]byte, 1400)
	for i := range frame {
		frame[i] = byte(i)
	}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		dst = AppendFrame(dst[:0], frame, DefaultACCM)
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := make([]byte, 1400)
	for i := range frame {
		frame[i] = byte(i)
	}
	wire := AppendFrame(nil, frame, DefaultACCM)
	var d Decoder
	emit := func([]byte) {}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		d.Decode(wire, emit)
	}
}

func BenchmarkFCS16(b *testing.B) {
	frame := make([]byte, 1400)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		FCS16(InitFCS, frame)
	}
}
