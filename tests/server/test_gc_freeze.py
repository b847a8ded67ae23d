"""An HTTP server moves what its start-up loaded out of the garbage collector's reach once the model is
loaded (server/http.py ``freeze_when_warm``): a full collection then walks only what requests made."""

from __future__ import annotations

import gc

from mem_mcp.server.http import freeze_when_warm
from mem_mcp.service import MemoryService

from fakes import HashEmbedder


def test_start_up_objects_are_frozen_once_the_model_is_loaded(memory_settings):
    emb = HashEmbedder()
    svc = MemoryService(memory_settings, embedder=emb)
    gc.unfreeze()
    try:
        thread = freeze_when_warm(svc, wait_s=30.0)
        thread.join(0.3)
        assert thread.is_alive() and gc.get_freeze_count() == 0  # waiting for the model
        emb.load()
        thread.join(10.0)
        assert not thread.is_alive()
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
        svc.close()


def test_without_a_model_it_freezes_after_the_wait(memory_settings):
    svc = MemoryService(memory_settings, embedder=HashEmbedder())
    gc.unfreeze()
    try:
        freeze_when_warm(svc, wait_s=0.2).join(10.0)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
        svc.close()
