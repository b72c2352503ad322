package eval

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// JS returns the Jensen–Shannon divergence, in bits, between the order-n n-gram
// distributions of p and q:
//
//	JS = ½[KL(P‖M) + KL(Q‖M)] / ln 2,  M = ½(P + Q).
//
// n-grams in only one distribution contribute their whole probability times ½, so
// only the n-grams both share are looked up (walking the side with fewer distinct
// n-grams). The result is exactly 0 for identical and exactly 1 for disjoint
// distributions. p and q must have been counted with the same sequence length and
// kind, both with order n, and must each hold at least one n-gram.
func JS(p, q *Stats, n int) (float64, error) {
	if !sameShape(p.opt, q.opt) {
		return 0, fmt.Errorf("eval: compare statistics built with different options (%v and %v): count both with the same sequence length and kind", p.opt, q.opt)
	}
	gp, gq := p.order(n), q.order(n)
	if gp == nil || gq == nil {
		return 0, fmt.Errorf("eval: no %d-gram counts (have %v and %v): count with order %d", n, p.opt.Orders, q.opt.Orders, n)
	}
	if gp.total == 0 || gq.total == 0 {
		return 0, fmt.Errorf("eval: no %d-grams to compare (%d and %d counted): give lines with at least %d symbols", n, gp.total, gq.total, n)
	}
	// Walk the smaller side (a), look up in the larger (b).
	a, b, ga, gb := p, q, gp, gq
	if p.Distinct(n) > q.Distinct(n) {
		a, b, ga, gb = q, p, gq, gp
	}
	idmap := b.remap(a, false)
	na, nb := float64(ga.total), float64(gb.total)
	var sa, sb uint64 // counts of the shared n-grams on each side
	var sum kahan     // Σ over shared n-grams of a·log2(2a/(a+b)) + b·log2(2b/(a+b))
	var mapped []uint32
	var buf []byte
	ga.each(a, func(ids []uint32, ca uint64) {
		mapped = mapped[:0]
		for _, id := range ids {
			m := idmap[id]
			if m == 0 {
				return
			}
			mapped = append(mapped, m)
		}
		cb := gb.get(b, mapped, buf)
		if cb == 0 {
			return
		}
		sa += ca
		sb += cb
		x, y := float64(ca)/na, float64(cb)/nb
		mid := x + y
		sum.add(x*math.Log2(2*x/mid) + y*math.Log2(2*y/mid))
	})
	// n-grams only in a (or b) contribute x·log2(2x/x) = x each, in all 1 − Σshared x.
	js := 0.5 * (float64(ga.total-sa)/na + float64(gb.total-sb)/nb + sum.value())
	return min(max(js, 0), 1), nil
}

// JSAll returns JS for every order both p and q hold, computed concurrently.
func JSAll(p, q *Stats) (map[int]float64, error) {
	var orders []int
	for _, n := range p.opt.Orders {
		if slices.Contains(q.opt.Orders, n) {
			orders = append(orders, n)
		}
	}
	if len(orders) == 0 {
		return nil, fmt.Errorf("eval: no n-gram order in common (have %v and %v): count both with the same orders", p.opt.Orders, q.opt.Orders)
	}
	vals := make([]float64, len(orders))
	errs := make([]error, len(orders))
	var wg sync.WaitGroup
	for i, n := range orders {
		wg.Go(func() { vals[i], errs[i] = JS(p, q, n) })
	}
	wg.Wait()
	out := make(map[int]float64, len(orders))
	for i, n := range orders {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[n] = vals[i]
	}
	return out, nil
}

// kahan is a compensated (Neumaier) sum.
type kahan struct{ s, c float64 }

func (k *kahan) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k *kahan) value() float64 { return k.s + k.c }
