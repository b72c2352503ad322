package pipeline

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sugarme/gotch"

	"github.com/dgtext/dgtext/refine"
)

// MethodConfig names a refinement method and its settings as a command line gives
// them. DefaultMethod has the published DGflow settings.
type MethodConfig struct {
	Name      string  // dgflow, ddls, dot, or none (the base samples only)
	F         string  // DGflow's f-divergence: kl, js or logd
	Eta       float64 // DGflow step size η
	Gamma     float64 // DGflow entropy regulariser γ
	Eps       float64 // DDLS step size ε
	DotLR     float64 // DOT gradient step size
	KeffPairs int     // DOT: random latent pairs for estimating k_eff
	Steps     string  // a number of steps, or "auto"
	SaveEvery int     // keep samples every N steps; step 0 and the last are always kept (0: only those)
}

// DefaultMethod is DGflow with the paper's settings: KL, η = 0.1, γ = 0.01, 25 steps,
// samples kept every 5 steps.
func DefaultMethod() MethodConfig {
	return MethodConfig{Name: "dgflow", F: "kl", Eta: 0.1, Gamma: 0.01, Eps: 0.01, DotLR: 0.01, KeffPairs: 1024, Steps: "25", SaveEvery: 5}
}

// finitePositive tells whether v is a usable step size.
func finitePositive(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// Build returns the method and its number of steps (-1 for "auto"). DOT estimates
// its k_eff here from random latent pairs of g and c.
func (c MethodConfig) Build(g refine.Generator, cr refine.Critic, seed int64, dev gotch.Device) (refine.Method, int, error) {
	steps := -1
	if c.Steps != "auto" {
		n, err := strconv.Atoi(c.Steps)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("--steps %q: give a number ≥ 0 or auto", c.Steps)
		}
		steps = n
	}
	if c.SaveEvery < 0 {
		return nil, 0, fmt.Errorf("--save-every %d: give N ≥ 1 to keep every N-th step, or 0 for step 0 and the last step only", c.SaveEvery)
	}
	switch strings.ToLower(c.Name) {
	case "dgflow":
		fd, err := refine.ParseFDiv(c.F)
		if err != nil {
			return nil, 0, err
		}
		if !finitePositive(c.Eta) || !(c.Gamma >= 0) || math.IsInf(c.Gamma, 0) {
			return nil, 0, fmt.Errorf("--eta %g and --gamma %g: need a finite η > 0 and a finite γ ≥ 0", c.Eta, c.Gamma)
		}
		return &refine.DGflow{Eta: c.Eta, Gamma: c.Gamma, F: fd}, steps, nil
	case "ddls":
		if !finitePositive(c.Eps) {
			return nil, 0, fmt.Errorf("--eps %g: must be a finite positive number", c.Eps)
		}
		return &refine.DDLS{Eps: c.Eps}, steps, nil
	case "dot":
		if !finitePositive(c.DotLR) {
			return nil, 0, fmt.Errorf("--dot-lr %g: must be a finite positive number", c.DotLR)
		}
		if c.KeffPairs < 1 {
			return nil, 0, fmt.Errorf("--keff-pairs %d: must be at least 1", c.KeffPairs)
		}
		k, err := refine.EstimateKeff(g, cr, c.KeffPairs, seed, dev)
		if err != nil {
			return nil, 0, err
		}
		return &refine.DOT{LR: c.DotLR, Keff: k}, steps, nil
	case "none":
		return &refine.DGflow{Eta: 0, F: refine.KL}, 0, nil
	}
	return nil, 0, fmt.Errorf("unknown --method %q: use dgflow, ddls, dot or none", c.Name)
}

// Label names the method with its settings, as outputs record it: "dgflow-kl", "dot".
func (c MethodConfig) Label() string {
	if strings.ToLower(c.Name) == "dgflow" {
		return "dgflow-" + strings.ToLower(c.F)
	}
	return strings.ToLower(c.Name)
}

// Params lists the settings of m for reports.
func (c MethodConfig) Params(m refine.Method, steps int) map[string]any {
	p := map[string]any{"steps": steps, "save_every": c.SaveEvery}
	switch x := m.(type) {
	case *refine.DGflow:
		p["eta"], p["gamma"], p["f"] = x.Eta, x.Gamma, string(x.F)
	case *refine.DDLS:
		p["eps"] = x.Eps
	case *refine.DOT:
		p["lr"], p["k_eff"] = x.LR, x.Keff
	}
	return p
}
