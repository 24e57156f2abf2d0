"""The emulator server: moto's server with the SageMaker extensions in front, and its control API.

Requests reach moto untouched unless they are SageMaker control-plane operations the extension backend
answers, SageMaker runtime invocations, SageMaker Service Quotas, or the control API:
`GET/POST /_emulator/config` (read / merge the fault configuration), `GET/POST /_emulator/clock` (read /
advance the emulated clock, `local/clock.py`) and `POST /moto-api/reset` (moto's
reset, which also empties the extension backend and restores the start configuration). Under `/_hub` it
also answers as a Hugging Face Hub mirror (`local/hub.py`: `HF_ENDPOINT=<emulator url>/_hub`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.model import OperationModel
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from llm_engineering.errors import UserFacingError
from llm_engineering.local import (
    access_advisor,
    autoscaling,
    clock,
    hub,
    iam_simulation,
    managed_policies,
    model_data,
    quotas,
    runtime,
    s3_rules,
    sagemaker,
    security,
)
from llm_engineering.local import metrics as emulated_metrics
from llm_engineering.local import scheduler as emulated_scheduler
from llm_engineering.local.faults import CURRENT, EmulatorConfig, EmulatorConfigError, parse_config
from llm_engineering.local.protocol import (
    AwsError,
    account_for,
    check_input,
    error_for,
    is_describe,
    json_error,
    json_response,
    omit_absent,
    operation,
    query_error,
    query_params,
    query_response,
    rest_json_error,
    service_model,
    signing_scope,
)
from llm_engineering.local.request_log import RequestLog, logged

CONFIG_PATH = "/_emulator/config"
CLOCK_PATH = "/_emulator/clock"
TICK_SECONDS = 1.0
RESET_PATH = "/moto-api/reset"
MANAGED_POLICIES_VARIABLE = "MOTO_IAM_LOAD_MANAGED_POLICIES"
THROTTLED = AwsError("ThrottlingException", "Rate exceeded")

StartResponse = Callable[..., Any]
LOG = logging.getLogger(__name__)


class EmulatorError(UserFacingError):
    """The emulator could not start, or its control API refused a request."""


class EmulatorApp:
    """WSGI application: the extensions first, moto's dispatcher for everything else."""

    def __init__(
        self,
        moto_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        request_log: RequestLog | None = None,
    ) -> None:
        self.moto_app = moto_app
        self.request_log = request_log
        self.lock = threading.RLock()
        self.hub = hub.EmulatedHub()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.request_log is not None:
            return logged(self.serve, environ, start_response, self.request_log)
        return self.serve(environ, start_response)

    def serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request: the extension's answer, else moto's."""
        request = Request(environ)
        try:
            response = self.route(request)
        except Exception as error:  # a bug in the emulator: answer like AWS's 500, keep the traceback in the log
            LOG.exception("The emulator failed on %s %s", request.method, request.path)
            failure = AwsError("InternalFailure", f"The emulator failed: {type(error).__name__}: {error}", 500)
            response = error_for(request.headers, failure)
        if response is None:
            try:
                return self.moto_app(environ, start_response)
            except NotImplementedError as error:
                response = _not_emulated(request, error)
        return response(environ, start_response)

    def route(self, request: Request) -> Response | None:
        """The extension's answer, or None to hand the request to moto (its body left unread)."""
        path = request.path
        if path == CONFIG_PATH:
            return self._config(request)
        if path == CLOCK_PATH:
            return self._clock(request)
        if path == RESET_PATH and request.method == "POST":
            CURRENT.reset()
            clock.reset()
            emulated_metrics.reset()  # metrics and time limits: loads measured so far, schedule attempts
            emulated_scheduler.reset()
            access_advisor.reset()
            autoscaling.reset()  # autoscaling of inference components
            return None
        # --- the emulated Hugging Face Hub (HF_ENDPOINT=<url>/_hub) ---
        if path == hub.PREFIX or path.startswith(hub.PREFIX + "/"):
            return self.hub.answer(request)
        scope = signing_scope(request.headers.get("Authorization"))
        if scope is None:
            return None
        access_key, region, service = scope
        access_advisor.observe(request)  # who called what, for IAM's access advisor (local/access_advisor.py)
        target = request.headers.get("X-Amz-Target", "")
        if service == "sagemaker":
            account = account_for(access_key, request.headers)
            if target.startswith("SageMaker."):
                return self._sagemaker(request, target.removeprefix("SageMaker."), account, region)
            return self._runtime(request, account, region)
        if service == "iam" and request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._iam(request)
        if service == "s3":  # what S3 refuses and moto does not (local/s3_rules.py)
            return s3_rules.check(request, account_for(access_key, request.headers), region)
        if service == "servicequotas" and target.removeprefix("ServiceQuotasV20190624.") in quotas.OPERATIONS:
            return self._quotas(request, target.removeprefix("ServiceQuotasV20190624."), access_key, region)
        return None

    # --- SageMaker control plane ------------------------------------------------------------------------
    def _sagemaker(self, request: Request, name: str, account: str, region: str) -> Response | None:
        if CURRENT.throttle():
            return json_error(THROTTLED)
        backend = sagemaker.backend(account, region)
        handler = sagemaker.OPERATIONS.get(name)
        with self.lock:
            backend.settle()
            if handler is None:
                refusal = _precheck(request, name, account, region)  # e.g. CreateModel's model data (S3)
                _rewind(request)
                if refusal is not None:
                    return refusal
                op = operation("sagemaker", name) if name in service_model("sagemaker").operation_names else None
                if op is None or not is_describe(op):
                    return None
                return self._moto_described(request, op, account, region)
            op = operation("sagemaker", name)
            try:
                params = _json_body(request)
                check_input(op, params)
                return json_response(op, handler(backend, params))
            except AwsError as error:
                return json_error(error)

    def _moto_described(self, request: Request, op: OperationModel, account: str, region: str) -> Response:
        """moto's answer to a Describe call, without the members it fills with nothing (`"VpcConfig": {}`), and
        with what moto drops put back (a model's network isolation)."""
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            answer.update(status=status, headers=headers)
            return lambda data: None

        try:
            body = b"".join(self.moto_app(request.environ, capture))
        except NotImplementedError as error:
            return _not_emulated(request, error)
        headers = [(key, value) for key, value in answer["headers"] if key.lower() != "content-length"]
        if answer["status"].startswith("200"):
            described = json.loads(body or b"{}")
            if op.name == "DescribeModel":
                described = security.described_model(account, region, described)
            body = json.dumps(omit_absent(described, op.output_shape)).encode("utf-8")
        return Response(body, status=answer["status"], headers=headers)

    # --- SageMaker runtime ------------------------------------------------------------------------------
    def _runtime(self, request: Request, account: str, region: str) -> Response | None:
        parts = request.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "endpoints" or parts[2] not in {"invocations", "invocations-response-stream"}:
            _rewind(request)
            return None
        if CURRENT.throttle():
            return rest_json_error(THROTTLED)
        backend = sagemaker.backend(account, region)
        try:
            with self.lock:
                backend.settle()
                component = request.headers.get("X-Amzn-SageMaker-Inference-Component")
                return runtime.invoke(
                    backend,
                    unquote(parts[1]),
                    component,
                    request.get_data(),
                    stream=parts[2] == "invocations-response-stream",
                )
        except AwsError as error:
            return rest_json_error(error)

    # --- IAM's policy simulator -------------------------------------------------------------------------
    def _iam(self, request: Request) -> Response | None:
        form = {key: values[0] for key, values in parse_qs(request.get_data().decode("utf-8", "replace")).items()}
        action = form.get("Action", "")
        handler = iam_simulation.OPERATIONS.get(action) or access_advisor.OPERATIONS.get(action)
        if handler is None:
            _rewind(request)
            return None
        op = operation("iam", form["Action"])
        try:
            params = query_params(form, op.input_shape)
            check_input(op, params)
            return query_response(op, handler(params))
        except AwsError as error:
            if error.code == "ValidationException":  # the query protocol's name for it
                error = AwsError("ValidationError", error.message, error.status)
            return query_error(error)

    # --- Service Quotas ---------------------------------------------------------------------------------
    def _quotas(self, request: Request, name: str, access_key: str, region: str) -> Response | None:
        try:
            params = _json_body(request)
            op = operation("service-quotas", name)
            check_input(op, params)
            result = quotas.handle(name, params, account_for(access_key, request.headers), region)
        except AwsError as error:
            return json_error(error)
        if result is None:
            _rewind(request)
            return None
        return json_response(op, result)

    # --- control API ------------------------------------------------------------------------------------
    def _config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                updates = json.loads(request.get_data() or b"{}")
                if not isinstance(updates, dict):
                    raise EmulatorConfigError("POST a JSON object of emulator options to /_emulator/config.")
                CURRENT.configure(updates)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _json({"error": "The body is not JSON: POST a JSON object of emulator options."}, 400)
            except EmulatorConfigError as error:
                return _json({"error": str(error)}, 400)
        elif request.method != "GET":
            return _json({"error": "Use GET to read or POST to change the emulator configuration."}, 405)
        return _json(CURRENT.config.model_dump(), 200)

    def _clock(self, request: Request) -> Response:
        """`GET` the emulated time; `POST {"advance": seconds}` skips ahead and runs what came due."""
        if request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                seconds = body.get("advance") if isinstance(body, dict) else None
                if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 10**8:
                    raise ValueError
            except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
                return _json({"error": 'POST {"advance": <seconds, 0 or more>} to move the emulated clock.'}, 400)
            clock.advance(float(seconds))
            self.tick()
        elif request.method != "GET":
            return _json({"error": "Use GET to read or POST to advance the emulated clock."}, 405)
        return _json({"now": clock.now().isoformat(), "skipped_seconds": clock.skipped()}, 200)

    def tick(self) -> None:
        """Run what came due (schedules, scaling, state changes) under the request lock."""
        with self.lock:
            try:
                clock.tick()
            except Exception:  # a bug in a ticker must not stop the clock for the others
                LOG.exception("An emulator ticker failed")


def _not_emulated(request: Request, error: NotImplementedError) -> Response:
    """An API neither moto nor the extension emulates: an AWS error in the caller's protocol, not a traceback."""
    LOG.warning("Not emulated: %s", error)
    return error_for(request.headers, AwsError("NotImplemented", f"The emulator lacks it: {error}", 501))


def _precheck(request: Request, name: str, account: str, region: str) -> Response | None:
    """SageMaker's own refusal of an operation moto answers (local/model_data.py), or None to pass it on."""
    check = model_data.PRECHECKS.get(name)
    if check is None:
        return None
    try:
        params = _json_body(request)
        check_input(operation("sagemaker", name), params)
        check(account, region, params)
    except AwsError as error:
        return json_error(error)
    return None


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AwsError("SerializationException", "The request body is not valid JSON.") from None


def _rewind(request: Request) -> None:
    """Give moto the body the extension has read."""
    data = request.get_data()
    request.environ["wsgi.input"] = io.BytesIO(data)
    request.environ["CONTENT_LENGTH"] = str(len(data))


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class _RequestHandler(MotoRequestHandler):
    """moto's request handler without a log line per request (the emulator is not a web server to watch)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server(ThreadedMotoServer):
    """moto's threaded server serving the extended application on a socket bound beforehand.

    Binding here, in the caller's thread, turns a busy port into an OSError for the caller (werkzeug would
    print and exit the server thread, leaving `start()` waiting forever).
    """

    def __init__(self, host: str, port: int, request_log: RequestLog | None = None) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self._request_log = request_log
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self._socket.listen(128)
        except OSError:
            self._socket.close()
            raise

    def _server_entry(self) -> None:
        app = EmulatorApp(DomainDispatcherApplication(create_backend_app), self._request_log)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=_RequestHandler, fd=self._socket.fileno()
        )
        self._socket.close()  # werkzeug serves a duplicate of it
        self._ticking = threading.Event()
        threading.Thread(target=self._tick_forever, args=(app, self._ticking), daemon=True).start()
        self._server_ready_event.set()
        try:
            self._server.serve_forever(poll_interval=0.05)
        finally:
            self._ticking.set()

    @staticmethod
    def _tick_forever(app: EmulatorApp, stopped: threading.Event) -> None:
        while not stopped.wait(TICK_SECONDS):
            app.tick()


class Emulator:
    """The local AWS emulator in this process: moto server plus the SageMaker extensions.

    `Emulator(port=0)` picks a free port; use it as a context manager or call `start()`/`stop()`.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        config: EmulatorConfig | Mapping[str, Any] | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        """`request_log` is called with a `RequestRecord` for every AWS request, once it is answered."""
        self.host = host
        self.request_log = request_log
        self.requested_port = port
        self.start_config = config if isinstance(config, EmulatorConfig) else parse_config(config)
        self._server: _Server | None = None
        self._saved_variable: str | None = None

    @property
    def port(self) -> int:
        if self._server is None or self._server._server is None:
            raise EmulatorError("The emulator is not running: call start() first.")
        return self._server.get_host_and_port()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> EmulatorConfig:
        return CURRENT.config

    def start(self) -> Emulator:
        """Start serving in a background thread; returns once the socket listens."""
        self._saved_variable = os.environ.get(MANAGED_POLICIES_VARIABLE)
        os.environ[MANAGED_POLICIES_VARIABLE] = "true"  # moto loads AWS managed IAM policies only then
        managed_policies.install()
        # metrics and time limits: CloudWatch percentiles, the utilization sampler (of what SageMaker hosts),
        # and schedules that come due
        emulated_metrics.register(sagemaker.hosted_targets)
        emulated_scheduler.register()
        autoscaling.install()  # autoscaling of inference components: moto's gaps, and the copies following it
        CURRENT.start(self.start_config)
        try:
            server = _Server(self.host, self.requested_port, self.request_log)
        except OSError as error:
            self._restore_variable()
            raise EmulatorError(
                f"Cannot listen on {self.host}:{self.requested_port} ({error.strerror}): "
                "choose another port with --port, or 0 for a free one."
            ) from None
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        if self._server is not None:
            self._server.stop()
            self._server = None
            self._restore_variable()

    def _restore_variable(self) -> None:
        if self._saved_variable is None:
            os.environ.pop(MANAGED_POLICIES_VARIABLE, None)
        else:
            os.environ[MANAGED_POLICIES_VARIABLE] = self._saved_variable

    def configure(self, **options: Any) -> EmulatorConfig:
        """Merge `options` into the running configuration."""
        return CURRENT.configure(options)

    def reset(self) -> None:
        """Forget every resource (moto's and the extension's) and restore the start configuration."""
        reset(self.url)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("error", error.reason)
        raise EmulatorError(f"The emulator refused the request: {detail}") from None
    except urllib.error.URLError as error:
        raise EmulatorError(f"Cannot reach the emulator at {url} ({error.reason}): is it running?") from None


def configure(url: str, **options: Any) -> dict[str, Any]:
    """Merge `options` into the configuration of the emulator at `url`; returns the configuration in force."""
    return _post(url.rstrip("/") + CONFIG_PATH, json.dumps(options).encode("utf-8"))


def reset(url: str) -> None:
    """Reset the emulator at `url`: every resource gone, start configuration restored."""
    _post(url.rstrip("/") + RESET_PATH, b"")


def advance_clock(url: str, seconds: float) -> dict[str, Any]:
    """Skip the clock of the emulator at `url` ahead by `seconds`; returns the emulated time."""
    return _post(url.rstrip("/") + CLOCK_PATH, json.dumps({"advance": seconds}).encode("utf-8"))


def get_config(url: str) -> dict[str, Any]:
    """The configuration in force in the emulator at `url`."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + CONFIG_PATH, timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.URLError as error:
        raise EmulatorError(f"Cannot reach the emulator at {url} ({error.reason}): is it running?") from None
