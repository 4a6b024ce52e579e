"""Mesh files: STL, OBJ (+ .mtl colours), PLY (vertex colours), 3MF (colours), GLB scene.

Rendering to bytes is pure (``*_bytes`` functions); writing goes through
:mod:`twinsep.io.atomic`, so a reader never sees a half-written file. Coordinates are
world millimetres, RAS by default; ``coords="LPS"`` negates x and y (a rotation, so the
winding stays outward) for tools that expect DICOM coordinates.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from twinsep.errors import ConfigError
from twinsep.io.atomic import atomic_write_bytes
from twinsep.labels import hex_to_rgb
from twinsep.models.params import COORD_SYSTEMS
from twinsep.models.surface import Mesh

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "convert_coords",
    "stl_bytes",
    "obj_bytes",
    "ply_bytes",
    "threemf_bytes",
    "glb_bytes",
    "write_mesh",
    "write_scene",
]

Format = Literal["stl", "obj", "ply", "3mf", "glb"]
FORMATS: tuple[str, ...] = ("stl", "obj", "ply", "3mf", "glb")


def convert_coords(vertices: np.ndarray, coords: str) -> np.ndarray:
    """RAS vertices -> the requested convention (``"RAS"`` or ``"LPS"``)."""
    if coords not in COORD_SYSTEMS:
        raise ConfigError("coords", f"{coords!r} is not one of {', '.join(COORD_SYSTEMS)}")
    if coords == "RAS":
        return vertices
    return vertices * np.array([-1.0, -1.0, 1.0])


def _rows(fmt: str, arr: np.ndarray) -> str:
    """``fmt`` (one row, ending in a newline) applied to every row of ``arr``: one
    C-level formatting call instead of a Python call per row (5-10x ``np.savetxt``)."""
    a = np.asarray(arr)
    if a.shape[0] == 0:
        return ""
    return (fmt * a.shape[0]) % tuple(a.ravel().tolist())


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "mesh"


def _trimesh(mesh: Mesh, coords: str, *, scale: float = 1.0):  # noqa: ANN202
    import trimesh

    return trimesh.Trimesh(convert_coords(mesh.vertices, coords) * scale, mesh.faces, process=False)


def stl_bytes(mesh: Mesh, *, coords: str = "RAS", scale: float = 1.0) -> bytes:
    """Binary STL (mm; STL has no colour)."""
    return bytes(_trimesh(mesh, coords, scale=scale).export(file_type="stl"))


def obj_bytes(mesh: Mesh, *, coords: str = "RAS", mtl_name: str) -> tuple[bytes, bytes]:
    """Wavefront OBJ with vertex normals and its material library.

    Returns
    -------
    obj, mtl : bytes
        The ``.obj`` text (referencing ``mtl_name``) and the ``.mtl`` text whose ``Kd``
        is the mesh colour.
    """
    tm = _trimesh(mesh, coords)
    v = np.asarray(tm.vertices)
    n = np.asarray(tm.vertex_normals) if mesh.n_faces else np.zeros_like(v)
    mat = _safe(mesh.name)
    out = io.StringIO()
    out.write(f"# twinsep mesh {mesh.name} (world {coords} mm)\nmtllib {mtl_name}\n")
    out.write(f"o {mat}\n")
    out.write(_rows("v %.4f %.4f %.4f\n", v))
    out.write(_rows("vn %.4f %.4f %.4f\n", n))
    out.write(f"usemtl {mat}\n")
    f1 = mesh.faces + 1
    out.write(_rows("f %d//%d %d//%d %d//%d\n", np.repeat(f1, 2, axis=1)))
    r, g, b = (c / 255.0 for c in hex_to_rgb(mesh.colour))
    mtl = (
        f"# twinsep material for {mesh.name}\nnewmtl {mat}\n"
        f"Kd {r:.4f} {g:.4f} {b:.4f}\nKa 0 0 0\nKs 0.1 0.1 0.1\nNs 20\nd 1\nillum 2\n"
    )
    return out.getvalue().encode(), mtl.encode()


def ply_bytes(mesh: Mesh, *, coords: str = "RAS") -> bytes:
    """Binary PLY with per-vertex RGBA colour."""
    import trimesh

    tm = _trimesh(mesh, coords)
    rgba = np.array([*hex_to_rgb(mesh.colour), 255], dtype=np.uint8)
    tm.visual = trimesh.visual.ColorVisuals(tm, vertex_colors=np.tile(rgba, (len(tm.vertices), 1)))
    return bytes(tm.export(file_type="ply"))


_3MF_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>'
    "</Types>"
)
_3MF_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>'
    "</Relationships>"
)


def threemf_bytes(meshes: Sequence[Mesh], *, coords: str = "RAS", scale: float = 1.0) -> bytes:
    """3MF package (millimetres) with one object per mesh and a colour per object.

    Colours are a ``basematerials`` group (3MF core specification); each object's
    ``pid``/``pindex`` points to its colour, which slicers show and multi-material
    printers use.
    """
    from xml.sax.saxutils import quoteattr

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<model unit="millimeter" xml:lang="en-US" '
        'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">\n'
        '<metadata name="Application">twinsep</metadata>\n<resources>\n'
        '<basematerials id="1">\n'
    ]
    for m in meshes:
        r, g, b = hex_to_rgb(m.colour)
        parts.append(f'<base name={quoteattr(m.name)} displaycolor="#{r:02X}{g:02X}{b:02X}FF"/>\n')
    parts.append("</basematerials>\n")
    for i, m in enumerate(meshes):
        v = convert_coords(m.vertices, coords) * scale
        parts.append(
            f'<object id="{i + 2}" name={quoteattr(m.name)} type="model" pid="1" pindex="{i}">'
            "<mesh><vertices>\n"
        )
        parts.append(_rows('<vertex x="%.4f" y="%.4f" z="%.4f"/>\n', v))
        parts.append("</vertices><triangles>\n")
        parts.append(_rows('<triangle v1="%d" v2="%d" v3="%d"/>\n', m.faces))
        parts.append("</triangles></mesh></object>\n")
    parts.append("</resources>\n<build>\n")
    parts.extend(f'<item objectid="{i + 2}"/>\n' for i in range(len(meshes)))
    parts.append("</build>\n</model>\n")
    buf = io.BytesIO()
    # level 1: the XML is repetitive, level 6 costs about 4x the time for ~10 % less
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in (
            ("[Content_Types].xml", _3MF_TYPES),
            ("_rels/.rels", _3MF_RELS),
            ("3D/3dmodel.model", "".join(parts)),
        ):
            # a fixed time stamp (the zip epoch): the same meshes give the same bytes
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text, compresslevel=1)
    return buf.getvalue()


def glb_bytes(meshes: Sequence[Mesh], *, coords: str = "RAS") -> bytes:
    """Binary glTF scene with one named node per mesh (``A/bone``, ``separation/stage1``...)
    and a PBR material in the mesh colour (opaque; CSF semi-transparent).

    glTF is metres, +Y up by convention; the coordinates are left as world mm so that
    viewers and 3D Slicer overlay the models on the scan (the scene is in mm, stated
    in the node extras).
    """
    import trimesh
    from trimesh.visual.material import PBRMaterial

    scene = trimesh.Scene()
    for m in meshes:
        tm = _trimesh(m, coords)
        r, g, b = hex_to_rgb(m.colour)
        alpha = 110 if m.structure in ("csf", "separation") else 255
        mat = PBRMaterial(
            name=m.name,
            baseColorFactor=[r, g, b, alpha],
            metallicFactor=0.0,
            roughnessFactor=0.7,
            alphaMode="BLEND" if alpha < 255 else "OPAQUE",
            doubleSided=m.structure == "separation",
        )
        tm.visual = trimesh.visual.TextureVisuals(material=mat)
        tm.metadata["name"] = m.name
        scene.add_geometry(tm, node_name=m.name, geom_name=m.name)
    return bytes(scene.export(file_type="glb"))


def write_mesh(mesh: Mesh, path: Path, *, coords: str = "RAS", scale: float = 1.0) -> list[Path]:
    """Write one mesh in the format given by ``path``'s suffix (atomically).

    Returns the files written (an OBJ comes with its ``.mtl``).
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(path, f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "obj":
        if scale != 1.0:
            mesh = mesh.with_geometry(mesh.vertices * scale, mesh.faces)
        mtl_path = path.with_suffix(".mtl")
        obj, mtl = obj_bytes(mesh, coords=coords, mtl_name=mtl_path.name)
        atomic_write_bytes(mtl_path, mtl)
        atomic_write_bytes(path, obj)
        return [path, mtl_path]
    data = {
        "stl": lambda: stl_bytes(mesh, coords=coords, scale=scale),
        "ply": lambda: ply_bytes(
            mesh.with_geometry(mesh.vertices * scale, mesh.faces), coords=coords
        ),
        "3mf": lambda: threemf_bytes([mesh], coords=coords, scale=scale),
        "glb": lambda: glb_bytes(
            [mesh.with_geometry(mesh.vertices * scale, mesh.faces)], coords=coords
        ),
    }[fmt]()
    atomic_write_bytes(path, data)
    return [path]


def write_scene(meshes: Sequence[Mesh], path: Path, *, coords: str = "RAS") -> Path:
    """Write ``scene.glb`` (all meshes as named nodes) atomically."""
    atomic_write_bytes(path, glb_bytes(meshes, coords=coords))
    return Path(path)
