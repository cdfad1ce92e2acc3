"""pytest suite of the Python binding (run by ctest with LEMMSE_LIBRARY and LEMMSE_CLI set)."""
import os
import subprocess
import tempfile

import numpy as np
import pytest

import lemmse


def small_problem(seed=0, shape=(4, 3, 6, 7)):
    rng = np.random.default_rng(seed)
    return rng.random(shape), rng.random((2,) + shape[1:])


def test_version_and_library():
    assert lemmse.version().count(".") == 2
    assert os.path.exists(lemmse.library_path)


def test_sigma_infinity_gives_the_mean_over_keys():
    train, y = small_problem()
    with lemmse.Context("reference", threads=2) as ctx:
        ctx.set_training(train)
        out = ctx.estimate(y, "le-mmse", patch=3, sigma=1e4, effective_count=True)
    chan_mean = train.mean(axis=(0, 2, 3))
    np.testing.assert_allclose(out.estimate, np.broadcast_to(chan_mean[None, :, None, None], y.shape), atol=1e-6)
    np.testing.assert_allclose(out.effective_count, 4 * 42, rtol=1e-6)


def test_strided_uint8_and_float32_views_need_no_copy_and_agree():
    rng = np.random.default_rng(3)
    nhwc = (rng.random((5, 6, 6, 3)) * 255).astype(np.uint8)
    view = nhwc.transpose(0, 3, 1, 2)  # N×C×H×W view with strides, uint8
    assert not view.flags.c_contiguous
    y = rng.random((1, 3, 6, 6)).astype(np.float32)
    with lemmse.Context("reference") as a, lemmse.Context("reference") as b:
        a.set_training(view)
        b.set_training(np.ascontiguousarray(view).astype(np.float64) / 255.0)
        ea = a.estimate(y, patch=3, sigma=0.2).estimate
        eb = b.estimate(y.astype(np.float64), patch=3, sigma=0.2).estimate
    np.testing.assert_array_equal(ea, eb)


@pytest.mark.parametrize("backend,rtol", [("reference", 1e-12), ("cpu", 1e-6)])
def test_topk_weights_reconstruct_the_estimate(backend, rtol):
    # exact on the fp64 reference; the CPU engine's estimate sums float32 weights (≤ 4 ulp)
    train, y = small_problem(5, (3, 1, 5, 5))
    with lemmse.Context(backend=backend) as ctx:
        ctx.set_training(train).set_problem("denoise")
        k = 3 * 25
        out = ctx.estimate(y[:1], patch=3, sigma=0.2, topk=k, log_density=True, variance=True)
    vals = train[out.topk_image[0], 0, out.topk_position[0] // 5, out.topk_position[0] % 5]
    np.testing.assert_allclose((out.topk_weight[0] * vals).sum(axis=0), out.estimate[0, 0], rtol=rtol)
    assert np.all(np.diff(out.topk_log_weight[0], axis=0) <= 0)
    assert np.all(out.variance >= 0)


def test_identity_filter_preinverse_equals_the_physics_agnostic_estimate():
    # B given as the 1×1 kernel [1]: its whitened distance is the plain one, on both host backends
    train, y = small_problem(7, (6, 2, 6, 7))
    for backend in ("reference", "cpu"):
        with lemmse.Context(backend) as a, lemmse.Context(backend) as b:
            a.set_training(train).set_problem("blur-gaussian:1").set_preinverse("filter", kernel=np.ones((1, 1)))
            b.set_training(train).set_problem("blur-gaussian:1").set_preinverse("identity")
            ea = a.estimate(y, patch=3, sigma=0.3).estimate
            eb = b.estimate(y, patch=3, sigma=0.3).estimate
        np.testing.assert_allclose(ea, eb, rtol=1e-6, atol=1e-9)
    with lemmse.Context("reference") as c:
        c.set_training(train).set_problem("blur-gaussian:1")
        with pytest.raises(lemmse.InvalidArgumentError, match="not invertible"):
            c.set_preinverse("filter", kernel=np.array([[-1.0, 1.0]]))
        with pytest.raises(ValueError):
            c.set_preinverse("filter")


def test_python_and_cli_give_the_same_estimate():
    cli = os.environ.get("LEMMSE_CLI")
    if not cli:
        pytest.skip("LEMMSE_CLI is not set")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([cli, "run", "--train-count", "40", "--test-count", "1", "--patch", "3", "--sigma", "0.25",
                        "--problem", "inpaint-box:9", "--preinverse", "mask", "--quiet", "--out", d], check=True)
        y = np.load(os.path.join(d, "measurement.npy"))
        cli_est = np.load(os.path.join(d, "estimate.npy"))
    with lemmse.Context() as ctx:
        ctx.set_training(dataset="builtin", count=40).set_problem("inpaint-box:9").set_preinverse("mask")
        est = ctx.estimate(y, patch=3, sigma=0.25).estimate
    np.testing.assert_array_equal(est, cli_est)


def test_simulate_and_read_dataset():
    clean = lemmse.read_dataset("builtin", split="test", first=2, count=2, variant="rgb32")
    assert clean.shape == (2, 3, 32, 32) and clean.min() >= 0 and clean.max() <= 1
    assert lemmse.dataset_shape("builtin", "train") == (60000, 1, 28, 28)
    with lemmse.Context() as ctx:
        ctx.set_training(dataset="builtin", variant="rgb32", indices=[5, 3, 9])
        assert ctx.training_shape == (3, 3, 32, 32)
        ctx.set_problem("inpaint-box:8")
        y = ctx.simulate(clean, sigma=0.0)
    hole = slice(12, 20)
    assert np.all(y[:, :, hole, hole] == 0)
    np.testing.assert_array_equal(y[:, :, :12], clean[:, :, :12])


def test_errors_raise_with_the_library_message():
    with lemmse.Context() as ctx:
        with pytest.raises(lemmse.InvalidArgumentError, match="no training set"):
            ctx.estimate(np.zeros((1, 1, 4, 4)))
        ctx.set_training(np.random.default_rng(1).random((2, 1, 8, 8)))
        with pytest.raises(lemmse.InvalidArgumentError, match="odd"):
            ctx.estimate(np.zeros((1, 1, 8, 8)), patch=4)
        with pytest.raises(ValueError, match="sigma"):
            ctx.estimate(np.zeros((1, 1, 8, 8)), sigma=0)
        with pytest.raises(lemmse.InvalidArgumentError, match="NaN"):
            ctx.estimate(np.full((1, 1, 8, 8), np.nan))
        with pytest.raises(lemmse.InvalidArgumentError, match="training images are"):
            ctx.estimate(np.zeros((1, 3, 8, 8)))
        with pytest.raises(lemmse.LemmseIOError):
            ctx.set_problem("inpaint-mask:/nonexistent.npy")
        with pytest.raises(lemmse.InvalidArgumentError, match="unknown estimator"):
            ctx.estimate(np.zeros((1, 1, 8, 8)), estimator="vae")
        with pytest.raises(lemmse.InvalidArgumentError, match="inpainting"):
            ctx.set_problem("blur-gaussian:1").set_preinverse("mask")
    with pytest.raises(lemmse.LemmseIOError):
        lemmse.read_dataset("mnist", data_dir="/nonexistent")


def test_progress_callback_can_cancel():
    calls = []
    with lemmse.Context() as ctx:
        ctx.set_training(dataset="builtin", count=400)
        y = lemmse.read_dataset("builtin", count=1)
        with pytest.raises(lemmse.CancelledError):
            ctx.estimate(y, progress=lambda done, total: calls.append((done, total)) or True)
    assert calls and calls[0][1] > 0


def test_cuda_arrays_are_accepted_when_a_device_exists():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available() or lemmse.cuda_device_count() == 0:
        pytest.skip("no CUDA device")
    train = torch.rand(3, 1, 8, 8, device="cuda", dtype=torch.float64)
    y = torch.rand(1, 1, 8, 8, device="cuda", dtype=torch.float64)
    with lemmse.Context("reference") as ctx:
        ctx.set_training(train)
        e_dev = ctx.estimate(y, patch=3, sigma=0.2).estimate
        ctx.set_training(train.cpu().numpy())
        e_host = ctx.estimate(y.cpu().numpy(), patch=3, sigma=0.2).estimate
    np.testing.assert_array_equal(e_dev, e_host)
