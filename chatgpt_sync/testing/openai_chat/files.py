"""The file service of the authenticated emulator: uploads, their checks, generated images, downloads.

Upload flow (protocols.md §1.2.10): ``POST /backend-api/files`` → ``file_id`` + a SAS ``upload_url``
on the separate blob store; ``PUT`` the bytes there; ``POST /backend-api/files/{id}/uploaded`` →
``download_url``. Only then may a conversation message reference the file, and an image part must
state the size the image's own header gives. Generated images are files too: ``file-service://``
(DALL·E era) or ``sediment://`` (gpt-image era, downloadable only within their conversation).
Callers hold the emulator's lock.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ..chatgpt_web.checks import Rejection
from .auth import iso_time
from .blobstore import BlobStore
from .body import Attachment, ImageRef
from .images import ImageInfo, image_info, png_bytes
from .turns import GeneratedImage

__all__ = ["FileRegistry", "StoredFile", "USE_CASES", "MAX_FILE_SIZE", "GENERATED_SIZE"]

USE_CASES = ("multimodal", "my_files")
MAX_FILE_SIZE = 512 * 1024 * 1024
GENERATED_SIZE = (64, 64)  # generated images are small solid PNGs of this size
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class StoredFile:
    id: str
    owner: str
    name: str
    size: int
    use_case: str
    created: float
    confirmed: bool = False
    image: ImageInfo | None = None
    conversation_id: str | None = None  # a generated sediment image belongs to its conversation
    generated: bool = False


def _not_found(file_id: str) -> Rejection:
    return Rejection(404, f"File {file_id} not found.")


class FileRegistry:
    """Files by id; each belongs to one account (another account gets 404, as for a missing one)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.files: dict[str, StoredFile] = {}

    # ---------------------------------------------------------------- upload flow
    def create(self, owner: str, name: Any, size: Any, use_case: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise Rejection(422, "Invalid request body: file_name must be a non-empty file name")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_FILE_SIZE:
            raise Rejection(422, f"Invalid request body: file_size must be the byte count (1..{MAX_FILE_SIZE})")
        if use_case not in USE_CASES:
            raise Rejection(422, f"Invalid request body: use_case must be one of {list(USE_CASES)} "
                                 '("multimodal" for images shown to the model, "my_files" for documents)')
        file_id = "file-" + "".join(secrets.choice(_ALPHABET) for _ in range(22))
        self.files[file_id] = StoredFile(file_id, owner, name, size, use_case, time.time())
        return {"status": "success", "upload_url": self.blobs.upload_url(file_id, size, name), "file_id": file_id}

    def own(self, owner: str, file_id: str) -> StoredFile:
        found = self.files.get(file_id)
        if found is None or found.owner != owner:
            raise _not_found(file_id)
        return found

    def confirm(self, owner: str, file_id: str) -> dict[str, Any]:
        stored = self.own(owner, file_id)
        blob = self.blobs.blob(file_id)
        if blob is None:
            raise Rejection(400, f"File {file_id} has no content yet: PUT its bytes to the upload_url "
                                 "(x-ms-blob-type: BlockBlob) before POST .../uploaded.")
        stored.confirmed = True
        stored.image = image_info(blob.data)
        return self._download_answer(stored)

    def _download_answer(self, stored: StoredFile) -> dict[str, Any]:
        return {"status": "success", "download_url": self.blobs.download_url(stored.id, stored.name),
                "metadata": {}, "file_name": stored.name, "creation_time": iso_time(stored.created),
                "file_size_bytes": stored.size}

    # ---------------------------------------------------------------- downloads
    def download(self, owner: str, file_id: str, conversation_id: str | None) -> dict[str, Any]:
        """``/files/{id}/download`` (file-service ids) and ``/files/download/{id}?conversation_id=``."""
        stored = self.own(owner, file_id)
        if stored.conversation_id is not None and stored.conversation_id != conversation_id:
            # A sediment asset is a conversation attachment: it is only served with its conversation.
            raise _not_found(file_id)
        if not (stored.confirmed or stored.generated):
            raise Rejection(404, f"File {file_id} was never uploaded (no POST .../uploaded).")
        return self._download_answer(stored)

    def attachment(self, owner: str, conversation_id: str, file_id: str) -> dict[str, Any]:
        """``/conversation/{conversation_id}/attachment/{file_id}/download``."""
        stored = self.own(owner, file_id)
        if stored.conversation_id != conversation_id:
            raise _not_found(file_id)
        return self._download_answer(stored)

    # ---------------------------------------------------------------- references in messages
    def check_image(self, owner: str, ref: ImageRef) -> ImageInfo:
        stored = self.files.get(ref.file_id)
        if stored is None or stored.owner != owner:
            raise Rejection(400, f"{ref.pointer}: no such file for this account (upload it first).")
        if not stored.confirmed:
            raise Rejection(400, f"{ref.pointer}: the upload was not completed (POST /backend-api/files/"
                                 f"{ref.file_id}/uploaded after the PUT).")
        if stored.image is None:
            raise Rejection(400, f"{ref.pointer}: the uploaded file is not a PNG, JPEG, GIF or WebP image.")
        if (ref.width, ref.height) != (stored.image.width, stored.image.height):
            raise Rejection(400, f"{ref.pointer}: the message says {ref.width}x{ref.height} but the image is "
                                 f"{stored.image.width}x{stored.image.height}.")
        if ref.size_bytes is not None and ref.size_bytes != stored.size:
            raise Rejection(400, f"{ref.pointer}: size_bytes {ref.size_bytes} is not the file's {stored.size}.")
        return stored.image

    def check_attachment(self, owner: str, attachment: Attachment) -> StoredFile:
        stored = self.files.get(attachment.file_id)
        if stored is None or stored.owner != owner or not stored.confirmed:
            raise Rejection(400, f"Attachment {attachment.file_id}: no such uploaded file for this account.")
        return stored

    # ---------------------------------------------------------------- generated images
    def _publish(self, owner: str, file_id: str, conversation_id: str | None, data: bytes) -> None:
        name = f"{file_id}.png"
        self.files[file_id] = StoredFile(file_id, owner, name, len(data), "multimodal", time.time(),
                                         confirmed=True, image=image_info(data),
                                         conversation_id=conversation_id, generated=True)
        self.blobs.publish(file_id, data, "image/png", name)

    def generate(self, owner: str, conversation_id: str, *, sediment: bool) -> GeneratedImage:
        width, height = GENERATED_SIZE
        data = png_bytes(width, height)
        if not sediment:
            file_id = "file-" + "".join(secrets.choice(_ALPHABET) for _ in range(22))
            self._publish(owner, file_id, None, data)
            return GeneratedImage(file_id, f"file-service://{file_id}", width, height, len(data))
        file_id, preview_id = f"file_{uuid.uuid4().hex}", f"file_{uuid.uuid4().hex}"
        self._publish(owner, file_id, conversation_id, data)
        self._publish(owner, preview_id, conversation_id, png_bytes(width, height, (200, 200, 200)))
        return GeneratedImage(file_id, f"sediment://{file_id}", width, height, len(data),
                              preview_pointer=f"sediment://{preview_id}")
