package charlm

import "github.com/sugarme/gotch/ts"

// free drops x and returns y: the "y := f(x); x.Drop()" of a forward pass. gotch
// tensors hold C++ memory that Go's collector does not see, so forward passes free
// intermediates as soon as the next one exists. Autograd keeps what it still needs.
func free(y, x *ts.Tensor) *ts.Tensor {
	x.MustDrop()
	return y
}
