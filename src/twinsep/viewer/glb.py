"""Minimal binary glTF (GLB) reading and writing of triangle meshes, for the viewer.

Only what the viewer's levels of detail need: every triangle primitive of a GLB as
world-space vertex positions and faces, with the name of its node and its material,
and a writer that puts such meshes back into a GLB (one node per mesh, no transform,
the same node names and materials). Node transforms are baked into the positions, so
the result draws exactly where the original did.
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from twinsep.errors import InputError

logger = logging.getLogger(__name__)

__all__ = ["GlbMesh", "read_glb_meshes", "write_glb_meshes"]

_GLB_MAGIC = 0x46546C67  # "glTF"
_JSON_CHUNK = 0x4E4F534A  # "JSON"
_BIN_CHUNK = 0x004E4942  # "BIN\0"
_COMPONENT = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
_WIDTH = {"SCALAR": 1, "VEC3": 3}
_TRIANGLES = 4


@dataclass(frozen=True)
class GlbMesh:
    """One triangle primitive of a GLB, in world coordinates of the file.

    Attributes
    ----------
    name : str
        Name of its node (or of the nearest named ancestor when the node has none).
    vertices : (N, 3) float32 ndarray
        Positions with every node transform applied (the file's units: mm for twinsep).
    faces : (M, 3) integer ndarray
        Triangles as vertex indices (int64, or uint32 as stored in the file).
    material : dict or None
        The glTF material object (textures removed), or None.
    extras : dict
        The mesh's ``extras`` (kept as they were).
    """

    name: str
    vertices: npt.NDArray[np.float32]
    faces: npt.NDArray[np.integer[Any]]
    material: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def split_glb(data: bytes, source: str) -> tuple[dict[str, Any], bytes]:
    """The JSON document and the binary chunk of a GLB (glTF 2.0 binary) file.

    Raises
    ------
    InputError
        If the bytes are not a GLB version 2 file with a JSON chunk.
    """
    if len(data) < 20:
        raise InputError(source, "is too short to be a GLB file")
    magic, version, _length = struct.unpack_from("<III", data, 0)
    if magic != _GLB_MAGIC or version != 2:
        raise InputError(source, "is not a binary glTF 2.0 (GLB) file")
    json_len, json_type = struct.unpack_from("<II", data, 12)
    if json_type != _JSON_CHUNK or 20 + json_len > len(data):
        raise InputError(source, "has no JSON chunk where GLB requires one")
    try:
        doc = json.loads(data[20 : 20 + json_len].decode("utf-8"))
    except ValueError as exc:
        raise InputError(source, f"has an unreadable JSON chunk ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(source, "has a JSON chunk that is not an object")
    off = 20 + json_len
    binary = b""
    if off + 8 <= len(data):
        bin_len, bin_type = struct.unpack_from("<II", data, off)
        if bin_type == _BIN_CHUNK:
            binary = data[off + 8 : off + 8 + bin_len]
    return doc, binary


def _accessor(doc: dict[str, Any], binary: bytes, index: int, source: str) -> np.ndarray:
    acc = doc["accessors"][index]
    if "sparse" in acc or "bufferView" not in acc:
        raise InputError(source, f"accessor {index} is sparse or empty (not supported here)")
    dtype = _COMPONENT.get(int(acc["componentType"]))
    width = _WIDTH.get(str(acc["type"]))
    if dtype is None or width is None:
        raise InputError(source, f"accessor {index} has an unsupported type")
    view = doc["bufferViews"][int(acc["bufferView"])]
    if int(view.get("buffer", 0)) != 0:
        raise InputError(source, "refers to an external buffer (not supported here)")
    count = int(acc["count"])
    item = np.dtype(dtype).itemsize * width
    stride = int(view.get("byteStride", item)) or item
    start = int(view.get("byteOffset", 0)) + int(acc.get("byteOffset", 0))
    end = start + stride * (count - 1) + item if count else start
    if end > len(binary):
        raise InputError(source, f"accessor {index} reaches beyond the binary chunk")
    raw = np.frombuffer(binary, dtype=np.uint8, count=end - start, offset=start)
    if stride == item:
        return raw.view(dtype).reshape(count, width) if width > 1 else raw.view(dtype)
    rows = np.lib.stride_tricks.as_strided(raw, shape=(count, item), strides=(stride, 1))
    out = np.ascontiguousarray(rows).view(dtype).reshape(count, width)
    return out if width > 1 else out[:, 0]


def _local_matrix(node: dict[str, Any]) -> np.ndarray:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # column-major
    m = np.eye(4)
    if "scale" in node:
        m = np.diag([*map(float, node["scale"]), 1.0]) @ m
    if "rotation" in node:
        x, y, z, w = map(float, node["rotation"])
        r = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        )
        rot = np.eye(4)
        rot[:3, :3] = r
        m = rot @ m
    if "translation" in node:
        t = np.eye(4)
        t[:3, 3] = [float(v) for v in node["translation"]]
        m = t @ m
    return m


def read_glb_meshes(data: bytes, *, source: str = "scene.glb") -> list[GlbMesh]:
    """Every triangle primitive of a GLB, transformed to the file's world frame.

    Parameters
    ----------
    data : bytes
        A GLB (glTF 2.0 binary) file.
    source : str
        Name used in error messages.

    Returns
    -------
    list of GlbMesh
        In scene traversal order (depth first, as listed). Non-triangle primitives
        (lines, points) are skipped.

    Raises
    ------
    InputError
        If the bytes are not a GLB or use a feature this reader does not support
        (sparse accessors, external buffers, compressed meshes).
    """
    doc, binary = split_glb(data, source)
    if any(e in (doc.get("extensionsRequired") or []) for e in ("KHR_draco_mesh_compression",)):
        raise InputError(source, "uses compressed meshes (not supported here)")
    nodes = doc.get("nodes") or []
    scenes = doc.get("scenes") or [{"nodes": list(range(len(nodes)))}]
    roots = scenes[int(doc.get("scene", 0))].get("nodes") or []
    materials = doc.get("materials") or []
    out: list[GlbMesh] = []

    def visit(index: int, parent: np.ndarray, parent_name: str, depth: int) -> None:
        if depth > 64:
            raise InputError(source, "has a node hierarchy deeper than 64 (a cycle?)")
        node = nodes[index]
        world = parent @ _local_matrix(node)
        own = str(node.get("name") or "")
        name = own or parent_name
        if "mesh" in node:
            mesh = doc["meshes"][int(node["mesh"])]
            for prim in mesh.get("primitives") or []:
                if int(prim.get("mode", _TRIANGLES)) != _TRIANGLES:
                    logger.debug("%s: non-triangle primitive of %s skipped", source, name)
                    continue
                pos = _accessor(doc, binary, int(prim["attributes"]["POSITION"]), source)
                if np.array_equal(world, np.eye(4)):
                    verts = pos  # the common case: no transform, no copy
                else:
                    verts = pos.astype(np.float64) @ world[:3, :3].T + world[:3, 3]
                if "indices" in prim:
                    idx = _accessor(doc, binary, int(prim["indices"]), source)
                    if idx.dtype != np.uint32:  # uint32 indexes numpy arrays as it is
                        idx = idx.astype(np.int64)
                else:
                    idx = np.arange(len(pos), dtype=np.int64)
                faces = idx[: len(idx) // 3 * 3].reshape(-1, 3)
                if faces.size and (faces.min() < 0 or faces.max() >= len(pos)):
                    raise InputError(source, f"mesh {name!r} has face indices out of range")
                if np.linalg.det(world[:3, :3]) < 0:
                    faces = faces[:, ::-1]  # a mirroring transform flips the winding
                mat = None
                if "material" in prim:
                    mat = {
                        k: v
                        for k, v in materials[int(prim["material"])].items()
                        if not k.endswith("Texture")
                    }
                    pbr = mat.get("pbrMetallicRoughness")
                    if isinstance(pbr, dict):
                        mat["pbrMetallicRoughness"] = {
                            k: v for k, v in pbr.items() if not k.endswith("Texture")
                        }
                out.append(
                    GlbMesh(
                        name=name,
                        vertices=np.ascontiguousarray(verts, dtype=np.float32),
                        faces=faces,
                        material=mat,
                        extras=dict(mesh.get("extras") or {}),
                    )
                )
        for child in node.get("children") or []:
            visit(int(child), world, name, depth + 1)

    for r in roots:
        visit(int(r), np.eye(4), "", 0)
    return out


def _pad(b: bytes, fill: bytes) -> bytes:
    return b + fill * (-len(b) % 4)


def write_glb_meshes(meshes: list[GlbMesh]) -> bytes:
    """A GLB holding ``meshes``: one node (named as the mesh) and one material each.

    Indices are stored as 16-bit integers when a mesh has fewer than 65 536 vertices
    (half the bytes), 32-bit otherwise. Deterministic: the same meshes give the same
    bytes.
    """
    bin_parts: list[bytes] = []
    offset = 0
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    gl_meshes: list[dict[str, Any]] = []
    materials: list[dict[str, Any]] = []

    def add_view(raw: bytes, target: int) -> int:
        nonlocal offset
        padded = _pad(raw, b"\0")
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(raw), "target": target})
        bin_parts.append(padded)
        offset += len(padded)
        return len(views) - 1

    for m in meshes:
        verts = np.ascontiguousarray(m.vertices, dtype=np.float32)
        faces = np.asarray(m.faces)
        idx_dtype = np.uint16 if len(verts) < 65_536 else np.uint32
        flat = np.ascontiguousarray(faces.reshape(-1), dtype=idx_dtype)
        iv = add_view(flat.tobytes(), 34963)
        accessors.append(
            {
                "bufferView": iv,
                "componentType": 5123 if idx_dtype is np.uint16 else 5125,
                "count": int(flat.size),
                "type": "SCALAR",
            }
        )
        pv = add_view(verts.tobytes(), 34962)
        lo = verts.min(axis=0) if len(verts) else np.zeros(3, np.float32)
        hi = verts.max(axis=0) if len(verts) else np.zeros(3, np.float32)
        accessors.append(
            {
                "bufferView": pv,
                "componentType": 5126,
                "count": int(len(verts)),
                "type": "VEC3",
                "min": [float(v) for v in lo],
                "max": [float(v) for v in hi],
            }
        )
        prim: dict[str, Any] = {
            "attributes": {"POSITION": len(accessors) - 1},
            "indices": len(accessors) - 2,
            "mode": _TRIANGLES,
        }
        if m.material is not None:
            materials.append(m.material)
            prim["material"] = len(materials) - 1
        mesh: dict[str, Any] = {"name": m.name, "primitives": [prim]}
        if m.extras:
            mesh["extras"] = m.extras
        gl_meshes.append(mesh)
        nodes.append({"name": m.name, "mesh": len(gl_meshes) - 1})
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "twinsep.viewer"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(nodes)))}],
        "nodes": nodes,
        "meshes": gl_meshes,
        "accessors": accessors,
    }
    if offset:
        doc["bufferViews"] = views
        doc["buffers"] = [{"byteLength": offset}]
    if materials:
        doc["materials"] = materials
    js = _pad(json.dumps(doc, separators=(",", ":")).encode("utf-8"), b" ")
    binary = b"".join(bin_parts)
    bin_chunk = struct.pack("<II", len(binary), _BIN_CHUNK) + binary if binary else b""
    total = 12 + 8 + len(js) + len(bin_chunk)
    return b"".join(
        (
            struct.pack("<III", _GLB_MAGIC, 2, total),
            struct.pack("<II", len(js), _JSON_CHUNK),
            js,
            bin_chunk,
        )
    )
