// Package gan trains the small generative models that dgtext refines besides the
// character model: the 2D toy GANs (package toy) and the MNIST models (package mnist).
// It holds what they share: the WGAN-GP objective (Gulrajani et al. 2017) as a plain
// training step over any generator and critic, Adam kept in Go, the gradient penalty,
// a few layers and helpers, and parameter files in the safetensors format.
//
// Everything here runs inside torch.Try, on one OS thread, and frees its tensors by
// hand; see package torch for why.
package gan
