"""S3 adapter: presigned uploads of reports and evidence, reading what was uploaded, and writing
exports."""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import ClientError


class Blobs:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires: int
    ) -> dict[str, Any]:
        """A presigned POST that S3 itself limits to `content_type` and 1..max_bytes bytes."""
        return dict(
            self._client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, max_bytes],
                ],
                ExpiresIn=expires,
            )
        )

    def presigned_get(self, key: str, expires: int) -> str:
        return str(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires
            )
        )

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            out = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {"size": out["ContentLength"], "contentType": out.get("ContentType", "")}

    def read(self, key: str, max_bytes: int) -> bytes:
        out = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{max_bytes}")
        return bytes(out["Body"].read())

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    def stream(self, key: str) -> Any:
        """The object's body as a file-like stream (not read into memory)."""
        return self._client.get_object(Bucket=self._bucket, Key=key)["Body"]

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)

    def put_if_changed(self, key: str, body: bytes, content_type: str) -> bool:
        """Write `body` unless the object already holds exactly it (its sha256 is kept in the
        object's metadata): a re-run writes nothing new, not even a new version. True if
        written."""
        digest = hashlib.sha256(body).hexdigest()
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=key)
            if head.get("Metadata", {}).get("sha256") == digest:
                return False
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata={"sha256": digest},
        )
        return True

    @property
    def bucket(self) -> str:
        return self._bucket
