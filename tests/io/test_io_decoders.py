"""``twinsep.io.decoders``: what pydicom lacks to decode a transfer syntax, in words."""

from __future__ import annotations

import pytest
from pydicom import uid

from twinsep.io.decoders import decoder_available, missing_decoders


def test_htj2k_names_the_openjpeg_plugin() -> None:
    """No installed decoder reads HTJ2K here (GDCM 3.2 does not): the packages pydicom's
    pylibjpeg plugin needs are named with the command that installs them."""
    assert not decoder_available(uid.HTJ2KLossless)
    said = missing_decoders(uid.HTJ2KLossless)
    assert (
        said
        == "pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0 (pip install pylibjpeg pylibjpeg-openjpeg)"
    )


@pytest.mark.parametrize(
    "syntax",
    [uid.ExplicitVRLittleEndian, uid.ImplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian],
)
def test_uncompressed_syntaxes_need_nothing(syntax: str) -> None:
    assert decoder_available(syntax)
    assert missing_decoders(syntax) is None


def test_an_unknown_syntax_has_no_decoder_and_no_advice() -> None:
    assert not decoder_available("1.2.3.4.5")
    assert missing_decoders("1.2.3.4.5") is None


def test_jpeg_lossless_is_read_by_gdcm() -> None:
    """python-gdcm is a dependency (docs/DECISIONS.md): JPEG Lossless decodes."""
    assert decoder_available(uid.JPEGLosslessSV1)
