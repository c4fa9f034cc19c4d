#!/usr/bin/env python3
"""Golden data for lhindex's quantized weight types, computed by ggml itself.

Run with the bench venv (llama-cpp-python ships ggml's shared libraries):
    ~/.cache/lhindex/bench-venv/bin/python scripts/quant-goldens.py [out_dir]

For each type (Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q4_0, Q4_1, Q8_0) it quantizes a few random float rows with
ggml_quantize_chunk and writes Fixtures/golden/quant/<type>.json with:
  - weights_b64:     the raw block bytes of all rows (rows * row_bytes), base64
  - dequantized_b64: ggml's to_float of those bytes, little-endian float32, base64 (rows * cols)
  - activation_b64:  an activation vector of cols float32 values, base64
  - activation_q_b64: that vector quantized by ggml's from_float of the type's vec_dot_type (the blocks vec_dot
                     reads: Q8_0 {f16 d, 32 x i8}, Q8_1 {f16 d, f16 s, 32 x i8}, Q8_K {f32 d, 256 x i8, 16 x i16})
  - dots:            ggml's vec_dot of each weight row with the activation; vec_dot takes the activation
                     quantized to the type's vec_dot_type (Q8_0 for Q5_0, Q8_1 for Q5_1, Q8_K for the
                     K-quants) with that type's from_float, exactly as ggml's CPU matmul does
  - dots_exact:      the float64 dot product of the dequantized rows with the unquantized activation
                     (what the integer kernels approximate)
Everything is seeded, so reruns give the same files on the same ggml build.
"""

import base64
import ctypes as C
import json
import os
import sys

import numpy as np
import llama_cpp

LIB = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")

TYPES = {  # name: (ggml type id, vec_dot_type id)
    "Q5_0": (6, 8), "Q5_1": (7, 9),
    "Q2_K": (10, 15), "Q3_K": (11, 15), "Q4_K": (12, 15), "Q5_K": (13, 15), "Q6_K": (14, 15),
    "Q4_0": (2, 8), "Q4_1": (3, 9), "Q8_0": (8, 8),   # appended last: each type's seed is 1400 + its index
}
ROWS, COLS = 2, 512

TO_FLOAT = C.CFUNCTYPE(None, C.c_void_p, C.c_void_p, C.c_int64)
FROM_FLOAT = C.CFUNCTYPE(None, C.c_void_p, C.c_void_p, C.c_int64)
VEC_DOT = C.CFUNCTYPE(None, C.c_int, C.c_void_p, C.c_size_t, C.c_void_p, C.c_size_t, C.c_void_p, C.c_size_t, C.c_int)


class TypeTraits(C.Structure):  # struct ggml_type_traits (ggml.h)
    _fields_ = [("type_name", C.c_char_p), ("blck_size", C.c_int64), ("blck_size_interleave", C.c_int64),
                ("type_size", C.c_size_t), ("is_quantized", C.c_bool), ("to_float", C.c_void_p),
                ("from_float_ref", C.c_void_p)]


class TypeTraitsCPU(C.Structure):  # struct ggml_type_traits_cpu (ggml-cpu.h)
    _fields_ = [("from_float", C.c_void_p), ("vec_dot", C.c_void_p), ("vec_dot_type", C.c_int),
                ("nrows", C.c_int64)]


base = C.CDLL(os.path.join(LIB, "libggml-base.so"))
cpu = C.CDLL(os.path.join(LIB, "libggml-cpu.so"))
base.ggml_get_type_traits.restype = C.POINTER(TypeTraits)
base.ggml_get_type_traits.argtypes = [C.c_int]
cpu.ggml_get_type_traits_cpu.restype = C.POINTER(TypeTraitsCPU)
cpu.ggml_get_type_traits_cpu.argtypes = [C.c_int]
base.ggml_quantize_chunk.restype = C.c_size_t
base.ggml_quantize_chunk.argtypes = [C.c_int, C.c_void_p, C.c_void_p, C.c_int64, C.c_int64, C.c_int64, C.c_void_p]
cpu.ggml_cpu_init.restype = None
cpu.ggml_cpu_init()   # fills the f16 tables the CPU kernels use


def b64(a: np.ndarray) -> str:
    return base64.b64encode(a.tobytes()).decode("ascii")


def test_rows(rng: np.random.Generator) -> np.ndarray:
    """Rows with a different magnitude and offset per 16 values, so block scales and mins all differ."""
    x = rng.standard_normal((ROWS, COLS))
    groups = COLS // 16
    scale = np.exp(rng.normal(0.0, 0.7, (ROWS, groups))).repeat(16, axis=1)
    shift = rng.normal(0.0, 0.5, (ROWS, groups)).repeat(16, axis=1)
    x = x * scale + shift * scale
    x[1, :64] = -np.abs(x[1, :64])   # a stretch with only negative values
    x[1, 256:288] = 0.0              # an all-zero 32-block
    return x.astype(np.float32)


def golden(name: str, type_id: int, dot_type_id: int, rng: np.random.Generator) -> dict:
    tr = base.ggml_get_type_traits(type_id).contents
    assert base.ggml_get_type_traits(dot_type_id).contents.blck_size > 0
    row_bytes = COLS // tr.blck_size * tr.type_size
    src = test_rows(rng)
    weights = np.zeros(ROWS * row_bytes, dtype=np.uint8)
    written = base.ggml_quantize_chunk(type_id, src.ctypes.data, weights.ctypes.data, 0, ROWS, COLS, None)
    assert written == weights.size, (name, written, weights.size)

    deq = np.zeros((ROWS, COLS), dtype=np.float32)
    to_float = TO_FLOAT(tr.to_float)
    for r in range(ROWS):
        to_float(weights.ctypes.data + r * row_bytes, deq.ctypes.data + r * COLS * 4, COLS)

    act = (rng.standard_normal(COLS) * np.exp(rng.normal(0.0, 0.5, COLS // 32)).repeat(32)).astype(np.float32)
    ctr = cpu.ggml_get_type_traits_cpu(type_id).contents
    assert ctr.vec_dot_type == dot_type_id, (name, ctr.vec_dot_type)
    dtr = base.ggml_get_type_traits(dot_type_id).contents
    act_q = np.zeros(COLS // dtr.blck_size * dtr.type_size, dtype=np.uint8)
    FROM_FLOAT(cpu.ggml_get_type_traits_cpu(dot_type_id).contents.from_float)(act.ctypes.data, act_q.ctypes.data, COLS)
    vec_dot = VEC_DOT(ctr.vec_dot)
    dots = []
    for r in range(ROWS):
        s = np.zeros(1, dtype=np.float32)
        vec_dot(COLS, s.ctypes.data, 0, weights.ctypes.data + r * row_bytes, 0, act_q.ctypes.data, 0, 1)
        dots.append(float(s[0]))
    exact = [float(np.dot(deq[r].astype(np.float64), act.astype(np.float64))) for r in range(ROWS)]
    return {
        "type": name, "ggml_type": type_id, "rows": ROWS, "cols": COLS, "row_bytes": row_bytes,
        "source": "ggml (llama-cpp-python %s): ggml_quantize_chunk, to_float, from_float + vec_dot" % llama_cpp.__version__,
        "weights_b64": b64(weights), "dequantized_b64": b64(deq), "activation_b64": b64(act),
        "activation_q_b64": b64(act_q),
        "dots": dots, "dots_exact": exact,
    }


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Fixtures", "golden", "quant")
    os.makedirs(out, exist_ok=True)
    for i, (name, (tid, dtid)) in enumerate(TYPES.items()):
        g = golden(name, tid, dtid, np.random.default_rng(1400 + i))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(g, f, indent=1)
            f.write("\n")
        w = np.frombuffer(base64.b64decode(g["dequantized_b64"]), dtype=np.float32).reshape(ROWS, COLS)
        a = np.frombuffer(base64.b64decode(g["activation_b64"]), dtype=np.float32)
        scale = [float(np.abs(w[r]).astype(np.float64) @ np.abs(a).astype(np.float64)) for r in range(ROWS)]
        rel = max(abs(d - e) / s for d, e, s in zip(g["dots"], g["dots_exact"], scale))
        print(f"{name}: {g['row_bytes']} bytes/row, ggml dots {g['dots']}, |ggml - exact| / sum|w*x| <= {rel:.1e}")


if __name__ == "__main__":
    main()
