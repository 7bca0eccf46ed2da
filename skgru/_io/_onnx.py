"""ONNX export through Keras' own ``Model.export(format="onnx")``.

Why Keras' exporter: it is maintained with Keras 3 (tf2onnx's ``from_keras``
targets tf.keras 2 models and fails on Keras 3 ones), it picks the backend's
path (tf2onnx on TensorFlow, with the numpy-2 patch Keras ships; torch.onnx /
jax2tf on the other backends), and the graph it converts is the model's
inference ``call`` (dropout off).

The exported graph is a small Keras model around the estimator's own network:

    raw input -> [reshape 2D rows | transpose "nft"] -> [SequenceScaler]
              -> [post-pad to the network's unrolled length, masked]
              -> network -> [probability normalisation | target de-standardisation]

so onnxruntime receives what ``predict`` receives and returns what
``predict_proba`` / ``predict`` return.
"""

from __future__ import annotations

import functools
import json

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _require_extra():
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"skgru.io.to_onnx needs {exc.name!r}: pip install skgru[onnx] (tf2onnx, onnx, onnxruntime)."
        ) from exc


def _split(estimator):
    from sklearn.pipeline import Pipeline

    from skgru.estimators import GRUClassifier, GRURegressor
    from skgru.preprocessing import SequenceScaler

    steps = []
    final = estimator
    if isinstance(estimator, Pipeline):
        *front, (_, final) = estimator.steps
        for name, step in front:
            if step is None or step == "passthrough":
                continue
            if not isinstance(step, SequenceScaler):
                raise ValueError(
                    f"to_onnx can fold only SequenceScaler steps into the graph; step {name!r} is a "
                    f"{type(step).__name__}. Text tokenisation (TextSequencer) and other Python "
                    "transformers cannot run inside ONNX: apply them before calling the ONNX model."
                )
            steps.append(step)
    if not isinstance(final, (GRUClassifier, GRURegressor)):
        raise ValueError(
            f"to_onnx exports GRUClassifier, GRURegressor or a Pipeline ending in one; got {type(final).__name__}."
        )
    check_is_fitted(final, ("model_", "feature_encoder_"))
    for step in steps:
        check_is_fitted(step)
    return steps, final


def _graph(steps, est):
    """(keras.Model from the raw input to the outputs, input description)."""
    import keras
    from keras import ops

    from skgru._sequences import RAGGED_PAD_VALUE

    enc = est.feature_encoder_
    spec = enc.input_spec_
    net = est.network_spec_
    layout = est.input_layout
    t, f = spec.n_timesteps, spec.n_step_features
    if spec.tokens:
        if steps:
            raise ValueError("A SequenceScaler cannot precede a token-input (embedding_dim) estimator.")
        inputs = keras.Input(shape=(t,), dtype="int32", name="tokens")
        x = inputs
        description = f"int32 token ids (batch, {t if t is not None else 'time'}), 0 = padding"
    elif spec.n_columns is not None:
        inputs = keras.Input(shape=(spec.n_columns,), dtype="float32", name="X")
        x = ops.reshape(inputs, (-1, t, f))
        description = f"float32 (batch, {spec.n_columns}) flattened rows, timestep-major"
    elif layout == "nft":
        inputs = keras.Input(shape=(f, t), dtype="float32", name="X")
        x = ops.transpose(inputs, (0, 2, 1))
        description = f"float32 (batch, {f}, {t if t is not None else 'time'}), channels first"
    else:
        inputs = keras.Input(shape=(t, f), dtype="float32", name="X")
        x = inputs
        description = f"float32 (batch, {t if t is not None else 'time'}, {f})"
    pad_value = None
    if spec.ragged:
        pad_value = RAGGED_PAD_VALUE if est.mask_value is None else float(est.mask_value)
        description += f"; variable-length sequences post-padded with {pad_value!r}"

    for scaler in steps:
        if getattr(scaler, "per_series", False):
            # Fitted per-series scalers hold no statistics (mean_ and scale_ are None):
            # folded as constants they became NaN and the graph output NaN everywhere.
            raise ValueError(
                "to_onnx cannot fold SequenceScaler(per_series=True) into the graph: it "
                "standardises each series by its own statistics at predict time, which the "
                "exported graph does not compute. Apply that scaler to X before calling the "
                "ONNX model, and export the estimator on its own."
            )
        if scaler.input_layout != layout or scaler.n_sequence_features_ != f or bool(scaler._fitted_2d) != (
            spec.n_columns is not None
        ):
            raise ValueError(
                "The SequenceScaler reads X in another layout than the estimator "
                f"(input_layout={scaler.input_layout!r}, {scaler.n_sequence_features_} features); "
                "to_onnx folds only a scaler that sees the estimator's own layout."
            )
        scaled = x
        if scaler.with_mean:
            scaled = scaled - np.asarray(scaler.mean_, dtype="float32")
        if scaler.with_std:
            scaled = scaled / np.asarray(scaler.scale_, dtype="float32")
        if pad_value is not None:  # the padded tail must keep the value the network masks
            is_pad = ops.all(ops.equal(x, pad_value), axis=-1, keepdims=True)
            scaled = ops.where(is_pad, ops.full_like(scaled, pad_value), scaled)
        x = scaled

    if net.n_timesteps is not None and t is not None and t < net.n_timesteps:
        # the unrolled network has a fixed time axis: post-pad, as SequenceEncoder.pad_to_network does
        value = 0 if spec.tokens else (RAGGED_PAD_VALUE if est.mask_value is None else float(est.mask_value))
        widths = [(0, 0), (0, net.n_timesteps - t)] + ([] if spec.tokens else [(0, 0)])
        x = ops.pad(x, widths, constant_values=value)

    raw = est.model_(x)
    networks = [est, *getattr(est, "ensemble_", ())]  # GRURegressor(ensemble_size > 1)

    def member_output(i):  # the members' models share one name: a view under its own name
        model = networks[i].model_
        return raw if i == 0 else keras.Model(model.input, model.output, name=f"skgru_gru_member{i}")(x)

    if hasattr(est, "classes_"):
        if est.target_encoder_.target_type_ == "multilabel-indicator":
            out = raw
        else:
            clipped = ops.maximum(raw, 0.0)
            out = clipped / ops.sum(clipped, axis=1, keepdims=True)
        name = "probabilities"
    else:
        # each member decoded with its own target encoder (and shrunk by its own factors),
        # then averaged in the units of y: as predict does
        out = _mean([_decoded(member, _faded(member, x, member_output(i), i)) for i, member in enumerate(networks)])
        if est.target_encoder_.ndim_ == 1:
            out = ops.reshape(out, (-1,))
        name = "predictions"
    model = keras.Model(inputs, keras.layers.Identity(name=name)(out), name="skgru_onnx")
    return model, name, description


def _decoded(est, raw):
    """``est``'s prediction in the units of y from its network's output ``raw``."""
    from keras import ops

    te = est.target_encoder_
    scale, mean = np.asarray(te.scale_, dtype="float32"), np.asarray(te.mean_, dtype="float32")
    if hasattr(te, "levels_"):  # quantile network: predict = the point level of the sorted levels
        q = ops.sort(ops.reshape(raw, (-1, te.n_targets_, len(te.levels_))), axis=-1)
        return q[:, :, te.point_index_] * scale + mean
    return _shrunk(est, raw) * scale + mean


def _faded(est, x, raw, index):
    """``raw`` with ``est``'s ``range_fade`` applied (issue 12, round 18), as ``predict``
    does: ``skip + g * (raw - skip)``, ``g`` from how far each window of the network's
    input ``x`` leaves ``input_range_`` (see :mod:`skgru.estimators._range_fade`)."""
    import keras
    from keras import ops

    margin, value_range = getattr(est, "range_fade", None), getattr(est, "input_range_", None)
    if margin is None or value_range is None or not est.network_spec_.linear_skip:
        return raw
    lo, hi = np.asarray(value_range, dtype=np.float64)
    width = hi - lo
    scored = np.flatnonzero(np.isfinite(width) & (width > 0))
    if not len(scored):
        return raw
    f32 = lambda a: np.asarray(a[scored], dtype="float32")  # noqa: E731
    xs = ops.take(x, scored, axis=-1)
    outside = ops.divide(ops.maximum(ops.subtract(xs, f32(hi)), ops.subtract(f32(lo), xs)), f32(width))
    mask_value = est.network_spec_.mask_value
    if mask_value is not None:  # padded steps never count
        valid = ops.any(ops.not_equal(x, float(mask_value)), axis=-1, keepdims=True)
        outside = ops.where(valid, outside, ops.full_like(outside, -1e30))
    excess = ops.maximum(ops.max(outside, axis=(1, 2)), 0.0)
    if margin == 0:
        g = ops.cast(ops.less_equal(excess, 0.0), "float32")
    else:
        g = ops.clip(1.0 - excess / float(margin), 0.0, 1.0)
    model = est.model_
    skip = keras.Model(model.input, model.get_layer("linear_skip").output, name=f"skgru_linear_skip{index}")(x)
    return ops.add(skip, ops.multiply(g[:, None], ops.subtract(raw, skip)))


def _shrunk(est, raw):
    """``raw`` with ``est``'s ``shrink_to_mean`` applied (issue 12), as ``predict`` does."""
    from keras import ops

    alpha = getattr(est, "shrinkage_", None)
    if alpha is None or not np.any(alpha != 1.0):
        return raw
    center = np.asarray(est.shrink_center_, dtype="float32")
    return ops.add(center, ops.multiply(np.asarray(alpha, dtype="float32"), ops.subtract(raw, center)))


def _mean(outputs):
    """The members' average (one output passes through unchanged)."""
    from keras import ops

    if len(outputs) == 1:
        return outputs[0]
    return ops.divide(functools.reduce(ops.add, outputs), float(len(outputs)))


def _rename(graph, output_name) -> None:
    """Readable names: output ``probabilities``/``predictions``, dynamic axes ``batch``/``time``."""
    old = graph.output[0].name
    for node in graph.node:
        node.output[:] = [output_name if o == old else o for o in node.output]
        node.input[:] = [output_name if i == old else i for i in node.input]
    graph.output[0].name = output_name
    for value in (graph.input[0], graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        for i, dim in enumerate(dims):
            if not dim.HasField("dim_value"):
                dim.dim_param = "batch" if i == 0 else "time"


def export(estimator, path, *, opset=None):
    _require_extra()
    import onnx

    steps, est = _split(estimator)
    if getattr(est, "crop_size_", None) is not None:
        # the graph would read a whole series at once; the estimator averages windows
        raise ValueError(
            f"This {type(est).__name__} was fitted with crop_size (it predicts by averaging "
            f"{est.crop_size_}-step windows), which the ONNX graph cannot express; export a "
            "model fitted with crop_size=None, or serve it with skgru.io.save/load."
        )
    model, output_name, description = _graph(steps, est)
    shape = [1] + [d if d is not None else est.network_spec_.n_timesteps or 1 for d in model.inputs[0].shape[1:]]
    model(np.zeros(shape, dtype=model.inputs[0].dtype))  # Keras exports only models that were called
    try:
        model.export(path, format="onnx", verbose=False, opset_version=opset)
    except Exception as exc:  # the converter's own errors are unhelpful on their own
        raise ValueError(
            f"The ONNX converter could not export this {type(est).__name__} ({type(exc).__name__}: "
            f"{str(exc)[:300]})."
        ) from exc
    proto = onnx.load(path)
    _rename(proto.graph, output_name)
    meta = {
        "skgru_estimator": type(est).__name__,
        "skgru_input": description,
        "skgru_output": output_name,
    }
    if hasattr(est, "classes_"):
        meta["skgru_classes"] = json.dumps(np.asarray(est.classes_).tolist())
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)
    return path
