"""The 3D scene sent to the page: ``models/scene.glb`` within a face budget.

The models stage writes ``PLAN/models/scene.glb`` in world millimetres, RAS axes
(+x Right, +y Anterior, +z Superior), one named node per twin x structure
(``A/skin``, ``B/brain``...) and per separation stage (``separation/stage1``...).
The page turns RAS into three.js' Y-up frame itself. When the file holds more faces
than the level of detail allows, the server decimates each mesh in proportion (with
``fast-simplification``) and keeps node names and materials; the result is kept in
memory, the plan folder is never written.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import InputError
from twinsep.viewer.glb import split_glb

logger = logging.getLogger(__name__)

__all__ = ["LodParams", "SceneSource", "decimate_glb", "glb_face_count", "glb_json"]


@dataclass(frozen=True)
class LodParams:
    """Face budgets per level of detail (whole scene, triangles).

    Attributes
    ----------
    desktop_faces : int
        Budget of the desktop view. 1.5 M triangles render at interactive rates with
        three.js on a laptop's integrated GPU (our measurement class: a few ms per
        frame for opaque meshes); above it decimation costs less than it saves.
    vr_faces : int
        Budget of the VR view: headsets render two eyes at 72-90 Hz, and standalone
        headsets have mobile GPUs, so the budget is several times smaller. 300 k is an
        engineering choice, not a vendor figure; raise it for a tethered headset.
    min_faces_per_mesh : int
        No mesh is decimated below this many faces, so that small structures (a
        vessel, a separation stage) keep their shape.
    preview_faces : int
        Budget of the first, coarse picture (vertex clustering,
        :mod:`twinsep.viewer.cluster`) that the page draws while the full level
        loads. Measured in headless Chromium with software WebGL on a shared 2-core
        machine: the first frame costs about 0.5 s of shader compilation plus 3-6 us
        per face, so 150 k faces keep "scene drawn" near 1.5 s; on a real GPU the
        preview is replaced within a second or two.
    """

    desktop_faces: int = 1_500_000
    vr_faces: int = 300_000
    min_faces_per_mesh: int = 2_000
    preview_faces: int = 150_000

    def budget(self, lod: str) -> int:
        """Face budget of ``lod`` ("preview", "desktop" or "vr")."""
        if lod == "vr":
            return self.vr_faces
        if lod == "desktop":
            return self.desktop_faces
        if lod == "preview":
            return self.preview_faces
        raise InputError("lod", f"{lod!r} is not one of preview, desktop, vr")


def glb_json(data: bytes, *, source: str = "scene.glb") -> dict[str, Any]:
    """The JSON chunk of a binary glTF file.

    Raises
    ------
    InputError
        If the bytes are not a GLB version 2 file.
    """
    return split_glb(data, source)[0]


def glb_face_count(data: bytes, *, source: str = "scene.glb") -> int:
    """Number of triangles drawn by a GLB file (all triangle primitives, once each)."""
    doc = glb_json(data, source=source)
    accessors = doc.get("accessors") or []
    faces = 0
    for mesh in doc.get("meshes") or []:
        for prim in mesh.get("primitives") or []:
            if int(prim.get("mode", 4)) != 4:
                continue
            idx = prim.get("indices")
            if idx is not None:
                faces += int(accessors[idx]["count"]) // 3
            else:
                pos = (prim.get("attributes") or {}).get("POSITION")
                if pos is not None:
                    faces += int(accessors[pos]["count"]) // 3
    return faces


def decimate_glb(data: bytes, max_faces: int, *, min_faces_per_mesh: int = 2_000) -> bytes:
    """Decimate every mesh of a GLB by the same fraction so the total fits ``max_faces``.

    Node names, the node hierarchy and materials are kept (round trip through trimesh).

    Parameters
    ----------
    data : bytes
        A GLB file.
    max_faces : int
        Triangle budget of the whole scene (> 0).
    min_faces_per_mesh : int
        Meshes are not reduced below this many triangles.

    Returns
    -------
    bytes
        A GLB file; ``data`` itself when it already fits.
    """
    if max_faces <= 0:
        raise InputError("max_faces", f"{max_faces} must be > 0")
    total = glb_face_count(data)
    if total <= max_faces:
        return data
    import fast_simplification
    import trimesh

    from twinsep.models.surface import SIMPLIFY_LOCK

    scene: Any = trimesh.load(io.BytesIO(data), file_type="glb", force="scene")
    keep = max_faces / float(total)
    geom: Any
    for name, geom in list(scene.geometry.items()):
        if not isinstance(geom, trimesh.Trimesh) or len(geom.faces) <= min_faces_per_mesh:
            continue
        target = max(min_faces_per_mesh, int(len(geom.faces) * keep))
        reduction = 1.0 - target / float(len(geom.faces))
        with SIMPLIFY_LOCK:  # the library's state is process-global
            verts, faces = fast_simplification.simplify(
                np.asarray(geom.vertices, dtype=np.float32),
                np.asarray(geom.faces, dtype=np.int64),
                target_reduction=reduction,
            )
        simple: Any = trimesh.Trimesh(verts, faces, process=False)
        visual: Any = geom.visual
        if hasattr(visual, "material"):
            # texture coordinates do not survive decimation: keep the material only
            simple.visual = trimesh.visual.TextureVisuals(material=visual.material)
        elif visual is not None:
            simple.visual.face_colors = visual.main_color
        simple.metadata.update(geom.metadata)
        scene.geometry[name] = simple
    out = scene.export(file_type="glb")
    assert isinstance(out, bytes)
    return out


class SceneSource:
    """``models/scene.glb`` of a plan, served per level of detail (cached in memory).

    Levels: ``preview`` (coarse, by vertex clustering, fast to make and to draw),
    ``desktop`` and ``vr`` (quadric decimation when above their budgets). Each level is
    made once, on first request or by :meth:`warm`, and kept in memory.
    """

    def __init__(self, plan_dir: Path, *, params: LodParams = LodParams()) -> None:
        self.path = Path(plan_dir) / "models" / "scene.glb"
        self.params = params
        self._lock = threading.Lock()
        self._cache: dict[str, bytes] = {}
        self._data: bytes | None = None
        self._faces: int | None = None

    def _source(self) -> bytes:
        # the caller holds the lock
        if self._data is None:
            if not self.path.is_file():
                raise InputError(self.path, "does not exist: the plan has no 3D scene")
            self._data = self.path.read_bytes()
        return self._data

    def faces(self) -> int:
        """Triangles in ``scene.glb`` (read once).

        Raises
        ------
        InputError
            If there is no scene file or it is not a GLB.
        """
        if self._faces is None:  # reads the file itself: never waits for a decimation
            if not self.path.is_file():
                raise InputError(self.path, "does not exist: the plan has no 3D scene")
            self._faces = glb_face_count(self.path.read_bytes(), source=str(self.path))
        return self._faces

    def warm(self, lods: tuple[str, ...] = ("preview", "desktop")) -> None:
        """Prepare levels ahead of the first request (run in a background thread).

        Errors are logged, not raised: the request for the level reports them.
        """
        for lod in lods:
            try:
                self.get(lod)
            except InputError as exc:
                logger.warning("viewer scene: %s", exc.one_line())
                return

    @property
    def exists(self) -> bool:
        """True when the plan has a scene file."""
        return self.path.is_file()

    def get(self, lod: str) -> bytes:
        """The GLB bytes for ``lod`` ("preview", "desktop" or "vr").

        Raises
        ------
        InputError
            If there is no scene file or it is not a GLB, or ``lod`` is unknown.
        """
        budget = self.params.budget(lod)
        with self._lock:
            if lod in self._cache:
                return self._cache[lod]
            data = self._source()
            t0 = time.perf_counter()
            if lod == "preview":
                from twinsep.viewer.cluster import preview_glb

                out = preview_glb(
                    data,
                    budget,
                    min_faces_per_mesh=self.params.min_faces_per_mesh,
                    source=str(self.path),
                )
                self._cache[lod] = out
                return out
            out = decimate_glb(data, budget, min_faces_per_mesh=self.params.min_faces_per_mesh)
            if out is not data:
                logger.info(
                    "scene.glb decimated for %s: %d -> %d faces in %.1f s",
                    lod,
                    glb_face_count(data),
                    glb_face_count(out),
                    time.perf_counter() - t0,
                )
            self._cache[lod] = out
            return out
