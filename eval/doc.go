// Package eval scores generated text against a reference corpus with the n-gram
// Jensen–Shannon divergence used by the character-level WGAN-GP language model and by
// DGflow's text experiment ("JS-4", "JS-6").
//
// # Semantics
//
// Characters are Unicode code points. Every line is cut to Options.SeqLen code points
// (default 32) and right-padded with PadChar ('`'); every contiguous character n-gram of
// the padded line counts, padding included. Probabilities are maximum-likelihood counts
// divided by the number of n-grams on each side, and
//
//	JS(P, Q) = ½[KL(P‖M) + KL(Q‖M)] / ln 2,  M = ½(P + Q),
//
// in bits, each KL summed over its own distribution's support. JS is exactly 0 for
// identical distributions and exactly 1 for disjoint ones.
//
// With Options.Words the symbols are words instead: each line is cut to SeqLen code
// points, trailing padding is removed, the rest is lower-cased and split on white space,
// and n-grams of consecutive words are counted (a line with fewer than n words has none).
//
// # Use
//
//	ref, err := eval.Count(referenceLines, eval.Options{Orders: []int{4, 6}})
//	gen, err := eval.Count(samples, ref.Options())
//	js, err := eval.JSAll(gen, ref) // js[4], js[6]
//
// Statistics of a large or sharded corpus are built from a stream (NewCounter, Add,
// Stats) or per shard and combined with Stats.Merge. Reference computes reference
// statistics for files and keeps them in an on-disk cache, used again only while the
// files' content hashes the same (SHA-256, computed while counting), so repeated
// evaluations against a large corpus skip recounting and an edited file never gets
// stale statistics. Memory follows distinct n-grams and a bounded chunk of positions,
// whatever the number of lines or the sequence length.
//
// # Fréchet distance
//
// For samples that are not text (images, vectors), Moments accumulates feature
// vectors into a Gaussian and Frechet gives the Fréchet distance between two such
// Gaussians: FID's formula, in whatever feature space the caller chose.
//
// # Speed
//
// Symbols are mapped to small dense ids, n-grams are packed into 64-bit keys and counted
// in open-addressing tables split into hash partitions, each partition owned by one
// worker (GOMAXPROCS workers), so no table is shared or merged. Only the highest order
// is counted per position: lower orders are exact prefixes of it, plus the few n-grams
// inside each line's last window, and are derived from the distinct n-grams afterwards.
// n-grams with rare symbols that do not fit a packed key are counted exactly in a
// string-keyed map instead.
package eval
