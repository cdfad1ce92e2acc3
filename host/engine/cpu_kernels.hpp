// The CPU engine's inner loops, compiled twice (baseline x86-64 and AVX2+FMA) and chosen at run
// time. One call handles one (training image, shift): the distance of every query pixel (fp64
// differences and window sums without subtraction, a few adds per pixel whatever P is), then the
// fp64 online-softmax update of every pixel that has a key within reach of its running max —
// optionally behind a float32 screen (Screen) that limits the fp64 work to the 4-pixel groups
// that can have such a key, changing no result bit.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/cpu_acc_state.hpp"
#include "util/aligned_vector.hpp"
#include "kernels/online_softmax.hpp"

namespace lemmse {
namespace cpu {

// Images as the window kernels read them: each row periodic, stored `copies` times over with
// `margin` wrapped columns on both sides (row stride periodic_stride: copies·W + 2·margin rounded
// up to whole cache lines of doubles, the rest of the row periodic too), the pointer at column 0
// of the first copy. Training images: 2 copies, so a shifted key row is one contiguous run of W
// pixels and no loop splits at the wrap; the margins let a 4-pixel group's window (screened path)
// read past both ends of that run.
struct KeyImage {
  const double* k;              // C planes of H rows (B A x_b)
  const float* k32;             // the same in float32 (the screen's copy)
  const double* weight;         // pixel weights at key pixels (one plane), or null
  const float* weight32;        // the same in float32, or null
  const double* val;            // C planes: values (clean x_b)
  const float* val32;           // the same in float32 (the float32 partial sums' copy)
  const double* bias;           // per-key bias (one plane), or null
  const int* pattern;           // binary-mask pattern id of each key position (one plane), or null
  std::size_t stride;           // row stride (periodic_stride(2, W, margin))
  int margin;
};

// Row stride of the periodic layouts: whole 64-byte lines of doubles, so that with a 64-byte
// aligned buffer every row starts on a line (with margin − pad ≡ 0 mod 8, the query rows' window
// columns too: 512-bit loads that do not straddle lines; 1.06–1.17× at σ = 0.5).
inline std::size_t whole_lines(std::size_t n) { return (n + 7) & ~std::size_t(7); }  // n doubles, up to whole 64-byte lines
inline std::size_t periodic_stride(int copies, int W, int margin) {
  return whole_lines(std::size_t(copies) * std::size_t(W) + 2 * std::size_t(margin));
}

// Margin the screened path needs for a window of columns dv0 … dv1 (a 4-pixel group's window,
// read in whole vectors).
inline int key_margin(int dv0, int dv1) { return (dv1 > -dv0 ? dv1 : -dv0) + 8; }

// What a KeyImage holds per key position, the same for every training image: built once per run
// from H×W arrays (each may be null: not used by the problem).
struct KeyPositionStore {
  AlignedVector<double> weight, bias;
  AlignedVector<float> weight32;
  AlignedVector<int> pattern;
  void fill(int H, int W, int margin, const double* pixel_weight, const double* key_bias, const int* pattern_of);
};

// One training image's keys and values in the KeyImage layout, from C×H×W arrays.
struct KeyImageStore {
  AlignedVector<double> k, val;
  AlignedVector<float> k32, val32;
  int W = 0, margin = 0;
  void fill(int C, int H, int W, int margin, const double* key, const double* value);
  KeyImage view(const KeyPositionStore& positions) const;
};

// One query image in the layout the kernels read: one periodic copy of each row with `margin`
// wrapped columns each side (key_margin), in fp64 (qx) and float32 (q32, the screen's copy).
struct QueryImageStore {
  AlignedVector<double> qx;
  AlignedVector<float> q32;
  std::size_t stride = 0;       // row stride periodic_stride(1, W, margin)
  int margin = 0;
  void fill(int C, int H, int W, int margin, const double* q);
  const double* qx0() const { return qx.data() + margin; }  // column 0 of row 0 of plane 0
  const float* q320() const { return q32.data() + margin; }
};

// The rounding error of a float32 squared distance of `terms` squared differences of values of
// magnitude ≤ max_abs (each weighted by ≤ max_weight), summed in any order with or without FMA:
// (1 − rel)(√D − abs_sqrt)² ≤ D32 ≤ (1 + rel)(√D + abs_sqrt)² for the exact distance D
// (cpu_key_image.cpp: each bound taken twice over). rounding_steps: the roundings on any one
// path to a term of the sum, the sum's own additions included.
struct Float32Bound {
  double rel = 0, abs_sqrt = 0;
  static Float32Bound for_terms(double terms, double rounding_steps, double max_abs, double max_weight);
  // The least float c with D32 > c ⇒ D > Dmax (+inf when Dmax is not finite or the bound is not).
  float cut(double Dmax) const;
};

// The float32 screen (see shifts_update): per-slice state that lets a shift's exact fp64 work be
// limited to the 4-pixel groups that can have a key within skip_nats of their running max. Its
// float32 distances are only compared with `cut`, a bound that holds whatever their rounding, so
// the screen alone changes no result bit: keys it drops are keys the exact test drops. A floor
// (set_floor: a lower bound on each pixel's final max, from a pre-pass over a few training images)
// lets it drop keys more than skip_nats below that too, from a slice's first key on — below half
// an ulp of the final sums all together, but not always the same bits as without it.
struct Screen {
  std::vector<float> cut;       // per pixel: a key whose float32 distance exceeds this is not live
  std::vector<double> floor;    // per pixel: a lower bound on its final max logit (empty: none)
  AlignedVector<float> scratch; // window_scratch_size floats (64-byte aligned: whole rows of 8 on 32 bytes)
  std::vector<std::uint8_t> live;  // H × groups_per_row: live 4-pixel groups of the current shift
  std::vector<std::uint8_t> row_live;  // H: whether the row has any
  // The per-group exact pass's horizontal window sums of (image row, 4-pixel group), 4 doubles
  // each (H × groups_per_row), valid where hs_stamp equals stamp (the current screened shift).
  std::vector<double> hs_memo;
  std::vector<std::uint32_t> hs_stamp;
  std::uint32_t stamp = 0;
  Float32Bound bound;           // error of the float32 distance
  double skip_nats = 0, inv_two_sigma2 = 0;
  int rest = 0;                 // shifts to run unscreened before screening again (most keys live)
  int run = 0;                  // length of the last such run
  int force = 0;                // tests: 1 always the per-group exact pass after the screen, 2 never
  // Top-k: per pixel, the logit a key must reach to enter its list (TopkTable::floors; below
  // −1e300 while the list is not full), or null. A key then stays live down to the lower of its
  // pixel's running max − skip_nats and that logit, so that the screen drops no key a list needs.
  const double* list_floor = nullptr;
  // For an H×W image, window wh×ww, a fp32 error bound from the largest |value| of queries and keys
  // (max_abs), the largest pixel weight (1 without weights) and the channel count.
  void init(int C, int H, int W, int wh, int ww, double max_abs, double max_weight, double skip_nats, double inv_two_sigma2);
  // The floor from the least float32 distance of each pixel over some keys (min_distances32): the
  // logit of that key is at least −(√(dmin/(1 − rel)) + abs_sqrt)²·inv_two_sigma2 (bound's terms).
  void set_floor(const float* dmin);
  // The cut of a pixel whose running max is mx.
  float cut_for(double mx) const;
  // The cut of pixel p whose running max is mx (with the floor and the list floor, if any).
  float cut_at(std::size_t p, double mx) const {
    double m = floor.empty() || mx > floor[p] ? mx : floor[p];
    if (list_floor) {
      if (!(list_floor[p] > -1e300)) return INFINITY;  // a list still filling takes every key
      m = std::min(m, list_floor[p] + skip_nats);
    }
    return cut_for(m);
  }
};

// Longest window side the screen is used for (beyond it the exact per-group sums cost too much).
constexpr int kMaxScreenWindow = 31;

// Per-(query image, shift) arguments of the window kernels.
struct ShiftArgs {
  int C, H, W;
  std::size_t HW;
  int du0, du1, dv0, dv1;       // window offsets
  bool whole;                   // whole-image window: every pixel gets the same D
  const double* qx;             // C planes of H periodic rows of the query v = B y (QueryImageStore::qx0)
  const float* q32;             // the same in float32 (QueryImageStore::q320; read only with `screen`)
  std::size_t q_stride;         // their row stride
  const std::uint8_t* qvalid;   // strata: HW × npattern validity of (query pixel, key pattern), or null
  std::size_t npattern;
  double inv_two_sigma2;
  bool second_moments;          // also Σw² and Σw(x − K)² (variance, effective count); else those sums mean nothing
  double* scratch;              // window_scratch_size(H, W, wh, ww) doubles, zero-filled once (its tails are read, never written)
  double* l;                    // out: HW logits of this shift (−inf for keys not allowed); with a
                                // screen, only those of the groups it passed (the rest: stale)
  double skip_nats;             // keys this far below their pixel's running max are dropped
  Screen* screen;               // null: no screen (needed for binary-mask strata, key bias, top-k)
  // true: l holds every key's logit (top-k reads them); false: −inf for the keys dropped (more
  // than skip_nats below their pixel's running max, the fp64 test), so that the update's float32
  // test passes over exactly those, with or without the screen.
  bool all_logits = false;
  // Called after each shift's logits are in l (top-k reads them there), before the next shift
  // overwrites them; null: no call. Only with all_logits. With a screen (whose list_floor then
  // keeps every key a list needs), a shift it rules out entirely gets no call, and after the
  // per-group pass only the rows flagged in `rows` (one byte per row) hold logits, with −inf
  // outside the groups it passed; rows null: every row holds its logits.
  void (*on_logits)(void* ctx, int ti, int tj, const std::uint8_t* rows) = nullptr;
  void* logits_ctx = nullptr;
};

// Elements of scratch the window kernels need for an H×W image and a wh×ww window (doubles for
// the exact pass, floats for the screen). Its arrays are kScratchSkew elements apart beyond their
// sizes, so that arrays of 2^k bytes do not start at the same address modulo 4096 (loads behind
// stores to such addresses wait: 4K aliasing).
constexpr std::size_t kScratchSkew = 40;
std::size_t window_scratch_size(int H, int W, int wh, int ww);

// Longest window side the kernels sum (a window of n terms takes at most 1 + the set bits of n
// below its top one ≤ 10 terms); cpu_engine_supports sends longer ones to the reference engine.
constexpr int kMaxWindow = 1023;

// Whitened metric (engine/whitened_cpu.cpp): squared distances between kWhitenedQueries query
// vectors and every key vector of one training image, as direct fp64 differences. A register block
// is kWhitenedQueries × kWhitenedLanes pairs: 6 × 8 takes 12 of the 16 AVX2 registers for sums
// (plus 2 key vectors and a broadcast query element), and loads each key element once per 6 queries.
constexpr int kWhitenedQueries = 6;
constexpr int kWhitenedLanes = 8;  // keys per register block; key counts are padded to a multiple
struct WhitenedDistanceArgs {
  int L;                        // vector length C·P²
  std::size_t n;                // keys in this block, a multiple of kWhitenedLanes
  const double* q;              // kWhitenedQueries × L query vectors
  // Keys packed in panels of kWhitenedLanes: panel j holds element e of its keys at
  // kP[(j·L + e)·kWhitenedLanes + lane] (padding: anything finite). One panel is one contiguous
  // run that the register block streams through: rows of a transposed L × keys array lay 8 KiB
  // apart at CIFAR-10 sizes, all in one L1 set, and missed L1 on nearly every load.
  const double* kP;
  double* D;                    // out: kWhitenedQueries × n squared distances
  // Or null: every pair. Else live[i · (n / kWhitenedLanes) + j] says whether query i needs its
  // exact distances to panel j's keys; D is written there (and for the other queries of a panel
  // computed as a block), left alone elsewhere — the screened path, whose other keys are dropped.
  // The bits are the unscreened ones whichever pairs are asked for.
  const std::uint8_t* live = nullptr;
};
// n vectors of `dims` elements (row-major x) packed into panels of kWhitenedLanes in T: element
// e of vector v at out[((v / lanes)·dims + e)·lanes + v % lanes], padding 0 up to npad vectors
// (the whitened kernels' key layout, fp64 and float32).
template <class T>
void pack_panels(const double* x, std::size_t n, std::size_t dims, std::size_t npad, AlignedVector<T>& out) {
  constexpr std::size_t NL = kWhitenedLanes;
  out.assign(npad * dims, T(0));
  for (std::size_t v = 0; v < n; ++v)
    for (std::size_t e = 0; e < dims; ++e) out[((v / NL) * dims + e) * NL + v % NL] = T(x[v * dims + e]);
}
// A panel with this many live queries is computed for all kWhitenedQueries of them at once (the
// block loads each key element once for all; single rows reload it per query).
constexpr int kWhitenedLiveBlock = 3;

// The whitened screen's float32 distances (direct float32 differences of float32 copies of the
// whitened vectors), same shapes as WhitenedDistanceArgs; their error is bounded as the window
// screen's (Float32Bound, L terms).
struct WhitenedDistance32Args {
  int L;
  std::size_t n;                // a multiple of kWhitenedLanes
  const float* q;               // kWhitenedQueries × L
  const float* kP;              // panels, as WhitenedDistanceArgs::kP
  float* D;                     // out: kWhitenedQueries × n
  // Or null: every panel. Else live as WhitenedDistanceArgs::live: a panel is computed (for
  // every query) where any query needs it, left alone elsewhere.
  const std::uint8_t* live = nullptr;
};

// Keys dropped for lying this far below their pixel's running max weigh, all `keys` of them
// together, at most keys·e^(−skip) ≤ e^(−38) ≈ 3·10⁻¹⁷ of that max key's weight: under half an
// ulp of the softmax sum it belongs to (≥ that weight), so dropping them is below fp64 resolution.
inline double skip_nats_for(double keys) { return std::log(keys > 1.0 ? keys : 1.0) + 38.0; }
// push_block drops keys min(skip, kMaxPushSkip) nats below the max (float32 weights: e^−87 is
// the least normal).
constexpr double kMaxPushSkip = 87.0;

// One pixel's logits l[0..n) against keys with values val (C rows; −inf logits for padding),
// pushed into its fp64 online-softmax state in one block: one max update per block, float32
// weights (8 lanes), fp64 lane sums folded in a fixed order. Keys more than min(skip, 87) nats
// below the max are dropped, and groups of kWhitenedLanes keys that are all dropped are passed
// over. Σw² and Σw(x − K)² only with `second` (else s2 and a2 mean nothing).
struct BlockArgs {
  const double* l;              // n logits (a multiple of kWhitenedLanes)
  std::size_t n;
  const double* val;            // C rows of `stride` values
  std::size_t stride;
  int C;
  double skip;                  // skip_nats_for(keys per pixel)
  bool second;                  // also Σw² and Σw(x − K)² (variance, effective count)
};

// Forward substitution G z = x for kWhitenLanes pixels at once (engine/whiten_fast.cpp): x and z
// are d × kWhitenLanes, element r of every pixel contiguous; G is d×d lower-triangular, row-major.
// The same steps as whiten_patches (z_r = (x_r − Σ_k g_rk z_k) / g_rr, k in order) — with FMAs
// on the AVX2 build, so the bits differ from it by rounding — in independent chains of vectors
// (a chain per vector of pixels waits on each subtraction).
constexpr int kWhitenLanes = 32;
struct WhitenArgs {
  int d;
  const double* G;
  const double* x;
  double* z;
};

struct Kernels {
  // For the shifts (ti, tj0), (ti, tj0 + 1) … (ti, tj0 + n − 1) in turn (tj0 + n ≤ W): the
  // distances of every query pixel to the keys (fp64 differences and window sums without
  // subtraction), then their logits into a.l and the online-softmax update (float32 partial sums,
  // folded into the fp64 state every kFoldShifts shifts: cpu_acc_state.hpp). The same bits
  // whatever n: a run of shifts only lets the kernel read the image rows once for several of them.
  // a.l holds each shift's logits until the next shift's replace them (a.on_logits sees each).
  void (*shifts_update)(const AccState&, const ShiftArgs&, const KeyImage&, int ti, int tj0, int n);
  // Folds the partial sums into the fp64 state (st.rows): call before reading it. second: the
  // shifts ran with ShiftArgs::second_moments.
  void (*fold)(const AccState&, bool second);
  // dmin[p] = min(dmin[p], float32 D of pixel p at shift (ti, tj)) (Screen::set_floor); scratch:
  // window_scratch_size floats, zero-filled once. Not for whole-image windows.
  void (*min_distances32)(const ShiftArgs&, const KeyImage&, int ti, int tj, float* scratch, float* dmin);
  void (*whitened_distances)(const WhitenedDistanceArgs&);
  // Returns the panels it computed (all of them without `live`).
  std::size_t (*whitened_distances32)(const WhitenedDistance32Args&);
  void (*whiten_block)(const WhitenArgs&);
  void (*push_block)(SoftmaxAcc<double>&, const BlockArgs&);
  // The whitened screen's cut: live[j] &= (panel j of D32, kWhitenedLanes floats, holds a value at
  // or below cut; NaN counts as live) for j < np; returns how many stay live. D32 is read for every
  // panel, live or not (any values: they are masked out).
  std::size_t (*keep_live_panels)(const float* D32, std::size_t np, float cut, std::uint8_t* live);
  const char* name;
};

// The variant the engines use: the fastest this CPU runs (AVX-512, else AVX2+FMA, else generic),
// or the one the environment variable LEMMSE_CPU_KERNELS names (avx512, avx2, generic; for A/B
// timing in one build). Throws InvalidArgument for a name this build or CPU does not run.
const Kernels& kernels();
// Every variant this CPU runs, the fastest first (for tests that hold them to each other).
std::vector<const Kernels*> kernel_variants();
// The variant called `name` (empty: the fastest); throws InvalidArgument, naming the variants this
// CPU runs, for any other name.
const Kernels& kernel_variant(const std::string& name);

}  // namespace cpu
}  // namespace lemmse
