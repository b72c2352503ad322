// Package mnist brings the refine core to images: an IDX reader for the four official
// MNIST files, a small DCGAN-style WGAN-GP, a VAE (a model with no discriminator of
// its own), a density-ratio corrector that lets DGflow refine such a model with a
// borrowed discriminator, a digit classifier whose features define a domain-specific
// Fréchet distance, and PNG image grids.
//
// Images are [B, 1, 28, 28] tensors with pixels scaled to [−1, 1] everywhere: real
// data, generator output, the critic's, corrector's and classifier's input.
//
// The Fréchet distance here is computed in the feature space of the classifier this
// package trains on the MNIST training labels, not Inception-v3's: Inception weights
// cannot be downloaded on the machines this project runs on, and a digit classifier
// is the better-matched feature extractor for digits anyway. Its numbers are not
// comparable with published FIDs.
package mnist
