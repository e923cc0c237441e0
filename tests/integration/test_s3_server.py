"""The local S3 server is real S3 API: SigV4 with its own keys, and conditional writes that the
lake lease relies on (If-None-Match: * creates once; If-Match swaps only on the current ETag)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_conditional_writes_are_enforced(s3_server, unique_name) -> None:
    s3 = s3_server.client()
    key = f"{unique_name}/lease"
    first = s3.put_object(Bucket=s3_server.bucket, Key=key, Body=b"one", IfNoneMatch="*")
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=s3_server.bucket, Key=key, Body=b"two", IfNoneMatch="*")
    assert exists.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as stale:
        s3.put_object(
            Bucket=s3_server.bucket, Key=key, Body=b"three", IfMatch='"0123456789abcdef0123456789abcdef"'
        )
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    s3.put_object(Bucket=s3_server.bucket, Key=key, Body=b"four", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read() == b"four"


def test_wrong_secret_is_refused(s3_server) -> None:
    import boto3

    bad = boto3.client(
        "s3", endpoint_url=s3_server.endpoint, aws_access_key_id=s3_server.access_key,
        aws_secret_access_key="not-the-secret", region_name="us-east-1",
    )  # fmt: skip
    with pytest.raises(ClientError) as denied:
        bad.list_objects_v2(Bucket=s3_server.bucket)
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
