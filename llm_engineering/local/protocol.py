"""Requests and answers in the shapes of botocore's service models, and AWS-style errors.

Nothing here re-describes an AWS shape: inputs are checked against botocore's input shapes (types,
required members, and the enum, pattern and length constraints AWS enforces server-side), and outputs are
filtered through the output shapes, so the emulator can only answer what a real client can parse.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator
from werkzeug.wrappers import Response


class AwsError(Exception):
    """An error answer: AWS error code, message, HTTP status and modeled extra fields."""

    def __init__(self, code: str, message: str, status: int = 400, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = dict(fields or {})


def validation_exception(message: str) -> AwsError:
    """The control plane's ValidationException (HTTP 400)."""
    return AwsError("ValidationException", message)


@functools.cache
def service_model(name: str) -> ServiceModel:
    """botocore's model of `name` (cached: loading one costs tens of milliseconds)."""
    return botocore.session.get_session().get_service_model(name)


def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


def check_input(op: OperationModel, params: Any) -> None:
    """Refuse `params` that botocore's model forbids, as AWS does: ValidationException with the reasons."""
    shape = op.input_shape
    if shape is None:
        return
    if not isinstance(params, dict):
        raise validation_exception("The request body must be a JSON object.")
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise validation_exception(report.generate_report().replace("\n", "; "))
    problems: list[str] = []
    _check_constraints(params, shape, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise validation_exception(f"{count} validation {noun} detected: " + "; ".join(problems))


def _check_constraints(value: Any, shape: Shape, path: str, problems: list[str]) -> None:
    if value is None:
        return
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if isinstance(value, dict) and name in value:
                location = f"{path}.{name[0].lower()}{name[1:]}" if path else f"{name[0].lower()}{name[1:]}"
                _check_constraints(value[name], member, location, problems)
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            _check_constraints(item, shape.member, f"{path}.{index + 1}.member", problems)
    elif shape.type_name == "map":
        for key, item in value.items():
            _check_constraints(item, shape.value, f"{path}.{key}", problems)
    elif shape.type_name == "string":
        enum = shape.enum
        if enum and value not in enum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {maximum}"
            )
        pattern = _pattern(shape.metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {shape.metadata['pattern']}"
            )
    elif shape.type_name in {"integer", "long", "float", "double"}:
        minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
        if maximum is not None and value > maximum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {maximum}"
            )
        if minimum is not None and value < minimum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {minimum}"
            )


@functools.cache
def _pattern(source: str | None) -> re.Pattern[str] | None:
    """AWS patterns are Java regular expressions; the few Python cannot read are not checked."""
    if not source:
        return None
    try:
        return re.compile(source)
    except re.error:
        return None


def shape_output(value: Any, shape: Shape | None) -> Any:
    """`value` reduced to the members `shape` models, with timestamps as epoch seconds (JSON protocols)."""
    if value is None or shape is None:
        return None
    if shape.type_name == "structure":
        result = {}
        for name, member in shape.members.items():
            if isinstance(value, Mapping) and value.get(name) is not None:
                result[name] = shape_output(value[name], member)
        return result
    if shape.type_name == "list":
        return [shape_output(item, shape.member) for item in value]
    if shape.type_name == "map":
        return {key: shape_output(item, shape.value) for key, item in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, datetime):
        return value.timestamp()
    return value


def omit_absent(value: Any, shape: Shape | None) -> Any:
    """`value` without the optional members that hold nothing (None, `{}`, `[]`), at every depth.

    AWS leaves out what was never set: DescribeModel has no `VpcConfig` for a model created without one,
    where moto answers `"VpcConfig": {}` (which sagemaker-core's `Model.get` refuses to parse). Required
    members stay, empty or not.
    """
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, Mapping):
        required = set(shape.required_members)
        return {
            name: omit_absent(item, shape.members.get(name))
            for name, item in value.items()
            if name in required or item not in (None, {}, [])
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [omit_absent(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, Mapping):
        return {key: omit_absent(item, shape.value) for key, item in value.items()}
    return value


def is_describe(op: OperationModel) -> bool:
    """Describe answers are the ones that leave out what was never set (a List answer keeps `[]`)."""
    return op.name.startswith("Describe")


def json_response(op: OperationModel, result: Mapping[str, Any] | None) -> Response:
    """A JSON-protocol success answer for `op` (a Describe answer without its absent members)."""
    body = shape_output(result or {}, op.output_shape) if op.output_shape is not None else {}
    if is_describe(op):
        body = omit_absent(body, op.output_shape)
    return Response(json.dumps(body), status=200, content_type="application/x-amz-json-1.1")


def json_error(error: AwsError) -> Response:
    """A JSON-protocol (`awsJson1_1`) error answer, as the SageMaker and Service Quotas control planes send."""
    body = {"__type": error.code, "message": error.message, **error.fields}
    return Response(json.dumps(body), status=error.status, content_type="application/x-amz-json-1.1")


def rest_json_error(error: AwsError) -> Response:
    """A REST-JSON error answer, as the SageMaker runtime sends (code in `x-amzn-ErrorType`)."""
    body = {"message": error.message, **error.fields}
    response = Response(json.dumps(body), status=error.status, content_type="application/json")
    response.headers["x-amzn-ErrorType"] = f"{error.code}:http://internal.amazon.com/coral/com.amazon.sagemaker/"
    return response


def query_error(error: AwsError) -> Response:
    """A query-protocol (XML) error answer, as IAM and STS send."""
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        "</Error><RequestId>emulator</RequestId></ErrorResponse>"
    )
    return Response(body, status=error.status, content_type="text/xml")


def query_params(form: Mapping[str, str], shape: Shape | None, prefix: str = "") -> Any:
    """A query-protocol request (`ActionNames.member.1=...`, `Entries.member.1.Key=...`) as the nested value
    `shape` describes, so it can be checked like any other request; absent members stay absent."""
    if shape is None:
        return {}
    if shape.type_name == "structure":
        found = {}
        for name, member in shape.members.items():
            key = f"{prefix}.{name}" if prefix else name
            value = query_params(form, member, key)
            if value is not None:
                found[name] = value
        return found if found or not prefix else None
    if shape.type_name == "list":
        items = []
        while (item := query_params(form, shape.member, f"{prefix}.member.{len(items) + 1}")) is not None:
            items.append(item)
        return items if items or f"{prefix}" in form else None
    if shape.type_name == "map":
        entries: dict[str, Any] = {}
        while f"{prefix}.entry.{len(entries) + 1}.key" in form:
            index = len(entries) + 1
            entries[form[f"{prefix}.entry.{index}.key"]] = query_params(
                form, shape.value, f"{prefix}.entry.{index}.value"
            )
        return entries or None
    if prefix not in form:
        return None
    raw = form[prefix]
    if shape.type_name in {"integer", "long"}:
        return int(raw) if raw.lstrip("-").isdigit() else raw
    if shape.type_name == "boolean":
        return {"true": True, "false": False}.get(raw.lower(), raw)
    return raw


def _xml(value: Any, shape: Shape) -> str:
    if shape.type_name == "structure":
        parts = []
        for name, member in shape.members.items():
            if isinstance(value, Mapping) and value.get(name) is not None:
                tag = member.serialization.get("name", name)
                parts.append(f"<{tag}>{_xml(value[name], member)}</{tag}>")
        return "".join(parts)
    if shape.type_name == "list":
        return "".join(f"<member>{_xml(item, shape.member)}</member>" for item in value)
    if shape.type_name == "map":
        return "".join(
            f"<entry><key>{escape(str(key))}</key><value>{_xml(item, shape.value)}</value></entry>"
            for key, item in value.items()
        )
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "timestamp" and isinstance(value, datetime):
        return value.isoformat()
    return escape(str(value))


def query_response(op: OperationModel, result: Mapping[str, Any]) -> Response:
    """A query-protocol (XML) success answer for `op`, as IAM and STS send it."""
    shape = op.output_shape
    namespace = op.service_model.metadata.get("xmlNamespace", "")
    wrapper = (shape.serialization.get("resultWrapper") if shape is not None else None) or f"{op.name}Result"
    inner = _xml(result, shape) if shape is not None else ""
    body = (
        f'<{op.name}Response xmlns="{namespace}"><{wrapper}>{inner}</{wrapper}>'
        f"<ResponseMetadata><RequestId>emulator</RequestId></ResponseMetadata></{op.name}Response>"
    )
    return Response(body, status=200, content_type="text/xml")


def error_for(request_headers: Mapping[str, str], error: AwsError) -> Response:
    """`error` in the protocol the request was sent in (JSON target, query form, or REST-JSON)."""
    if "X-Amz-Target" in request_headers:
        return json_error(error)
    if request_headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return query_error(error)
    return rest_json_error(error)


_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def signing_scope(authorization: str | None) -> tuple[str, str, str] | None:
    """(access key, region, service) from a SigV4 Authorization header, or None when unsigned."""
    match = _CREDENTIAL.search(authorization or "")
    return (match.group(1), match.group(2), match.group(3)) if match else None


def account_for(access_key: str, headers: Mapping[str, str]) -> str:
    """The account a request acts in, resolved exactly as moto's own responses resolve it."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if headers.get("x-moto-account-id"):
        return headers["x-moto-account-id"]
    from moto.iam.models import get_account_id_from  # deferred: moto's IAM models are heavy, needed only here

    return get_account_id_from(access_key)
