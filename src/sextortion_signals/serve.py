"""HTTP service (optional extra ``[serve]``): FastAPI + uvicorn over ``Scorer`` and ``Monitor``.

    from sextortion_signals.serve import create_app, run
    run()                      # http://127.0.0.1:8000, the shipped model

Endpoints::

    POST   /score                      one conversation {"messages": [...], "id"?} or a batch
                                       {"conversations": [...]}; ?contributions=, ?guidance=,
                                       ?locale= (or the same keys in the body)
    POST   /monitor/{conversation_id}  one message {"text", "sender"?, "timestamp"?}: the
                                       conversation's current result and new alerts
    DELETE /monitor/{conversation_id}  forget an open conversation
    GET    /healthz                    liveness
    GET    /version                    library version, model format, model training hash

Limits: the request body is capped (``max_body_bytes``) before any JSON is parsed, by a
middleware that reads ``Content-Length`` and counts the streamed body (413); a batch holds
at most ``max_batch`` conversations (422); messages and conversations are truncated or
windowed by ``limits`` (``inputs.Limits``; the result's ``warnings`` say so); the monitor
keeps bounded state (``monitor.MonitorLimits``). Wrong input is a 422 whose ``detail`` is
the library's message (or pydantic's list of errors for a wrongly typed field).

Scoring is CPU-bound and holds the GIL for most of its time: the scoring endpoints are
plain ``def`` so FastAPI runs them in its threadpool (the event loop stays free for
``/healthz``), but threads give concurrency, not parallelism. Use ``workers`` (processes)
to use more cores. The server binds 127.0.0.1 unless told otherwise: it has no
authentication, so put it behind something that has before exposing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from . import __version__
from .api import Scorer
from .errors import InvalidInputError
from .guidance import LOCALES
from .inputs import Conversation, Limits, coerce_conversation
from .model import FORMAT, FORMAT_VERSION, Model, default_model, load_model
from .monitor import Monitor, MonitorLimits
from .results import RESULT_SCHEMA_VERSION, ScoreResult

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_MAX_BATCH = 256
MAX_CONVERSATION_ID = 256  # characters of a monitored conversation's id
# ``run(workers>1)`` hands its settings to each worker process through these variables.
ENV_MODEL = "SEXTORTION_SIGNALS_MODEL"
ENV_MAX_BATCH = "SEXTORTION_SIGNALS_MAX_BATCH"
ENV_MAX_BODY_BYTES = "SEXTORTION_SIGNALS_MAX_BODY_BYTES"

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --- Request models ---------------------------------------------------------------------

_Id = StrictStr | StrictInt | None


class MessageIn(BaseModel):
    """One chat message. Other keys are accepted and ignored (kept as metadata by the
    library, never returned)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "examples": [{"text": "i have your pics", "sender": "a",
                      "timestamp": "2024-05-01T21:14:00Z"}]})

    text: StrictStr
    sender: StrictStr | StrictInt | None = None
    timestamp: StrictStr | StrictInt | StrictFloat | None = Field(
        None, description="ISO-8601 string (naive is UTC) or epoch seconds")


class ConversationIn(BaseModel):
    """One conversation: its messages in order, and an optional id echoed back."""

    model_config = ConfigDict(extra="allow")

    messages: list[MessageIn]
    id: _Id = None


class ScoreOptions(BaseModel):
    """Output options; each may also be given as a query parameter (the body wins)."""

    contributions: StrictBool | None = Field(
        None, description="per-feature explanation of each score (default false: it is the "
                          "only costly part of a result)")
    guidance: StrictBool | None = Field(
        None, description="next steps for the person at risk and the moderator when the "
                          "level is medium or high (default true)")
    locale: StrictStr | None = Field(
        None, description="locale of the guidance, e.g. en-US, fr-FR (default: from the "
                          "conversation's language)")


class ScoreRequest(ScoreOptions):
    """Either one conversation (``messages``, optional ``id``) or a batch
    (``conversations``), plus output options."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"id": "c1", "messages": [{"text": "i have your pics", "sender": "a"},
                                  {"text": "send 150$ or everyone sees them", "sender": "a"}]},
        {"conversations": [{"id": 1, "messages": [{"text": "hi, how was school?"}]},
                           {"id": 2, "messages": [{"text": "i have your pics"}]}],
         "contributions": True}]})

    messages: list[MessageIn] | None = None
    id: _Id = None
    conversations: list[ConversationIn] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ScoreRequest:
        if (self.messages is None) == (self.conversations is None):
            raise ValueError("give either 'messages' (one conversation) or 'conversations' "
                             "(a batch), not both or neither")
        return self


# --- Response models (mirror schemas/score_result.schema.json and ScoreResult.to_dict) --


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignalHitOut(_Out):
    """A rule fired; ``text`` is ``messages[message_index].text[start:end]``."""

    name: str
    category: str = Field(description="grooming | sextortion | context")
    message_index: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    lang: str
    rule_id: str


class IndicatorOut(_Out):
    """A typed fact found in a message (amount, payment channel, deadline, platform...)."""

    kind: str = Field(description="amount | crypto_wallet | cashtag | email | payment_channel "
                                  "| deadline | platform | handle | phone")
    value: str = Field(description='canonical form: "150 EUR", "gift_card", "600 s"...')
    message_index: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    amount: float | None
    currency: str | None
    seconds: float | None


class LearnedOut(_Out):
    """Where a sender's messages read most strongly as a tactic group (learned evidence)."""

    group: str
    message_index: int = Field(ge=0)
    probability: float = Field(ge=0, le=1)


class EvidenceOut(_Out):
    kind: str = Field(description="signal | indicator | learned")
    name: str
    message_index: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class ContributionOut(_Out):
    feature: str
    description: str
    value: float = Field(description="the feature's value")
    contribution: float = Field(description="weight * value, in calibrated log-odds")
    share: float = Field(ge=-1, le=1, description="contribution / sum of |contributions|")
    evidence: list[EvidenceOut]


class StepOut(_Out):
    id: str
    text: str


class ResourceOut(_Out):
    id: str
    name: str
    kind: str = Field(description="helpline | report | takedown | crisis | police")
    phone: str | None
    url: str | None
    purpose: str
    source: str = Field(description="the page the resource was checked against")


class GuidanceOut(_Out):
    locale: str
    label: str
    level: str
    person: list[StepOut] = Field(description="for the person at risk")
    moderator: list[StepOut]
    resources: list[ResourceOut]


Level = Literal["low", "medium", "high"]


class ScoreResultOut(_Out):
    """``ScoreResult.to_dict()``: see ``schemas/score_result.schema.json``."""

    schema_version: int = Field(description=f"currently {RESULT_SCHEMA_VERSION}")
    scores: dict[str, float] = Field(description="calibrated probability per label")
    labels: list[str] = Field(description="labels at or above the model's alert threshold")
    level: Level = Field(description="low, medium (worth a moderator's look) or high (some "
                                     "label alerts)")
    signals: list[SignalHitOut]
    indicators: list[IndicatorOut]
    learned: list[LearnedOut]
    contributions: dict[str, list[ContributionOut]] | None = Field(
        None, description="per label, features sorted by contribution (only when asked)")
    intercepts: dict[str, float] = Field(description="calibrated log-odds with every feature "
                                                     "at zero")
    logits: dict[str, float] = Field(description="calibrated log-odds per label; intercept + "
                                                 "sum of contributions")
    warnings: list[str] = Field(description="what was repaired, truncated or left out")
    lang: str | None = Field(description="the language most messages are in")
    guidance: GuidanceOut | None = Field(
        None, description="next steps, when the level is medium or high (unless turned off)")


class ScoreResponse(ScoreResultOut):
    id: StrictStr | StrictInt | None = Field(description="the request's id, or null")


class BatchScoreResponse(_Out):
    results: list[ScoreResponse] = Field(description="one per conversation, in request order")


class AlertOut(_Out):
    conversation_id: str
    kind: Literal["label", "level"] = Field(description='"label": a label crossed its alert '
                                                        'threshold for the first time; '
                                                        '"level": the level rose')
    label: str | None
    level: Level
    probability: float = Field(ge=0, le=1)
    message_index: int = Field(ge=0)


class MonitorResponse(_Out):
    conversation_id: str
    message_index: int = Field(ge=0, description="index of this message in its conversation")
    result: ScoreResultOut = Field(description="the conversation so far")
    alerts: list[AlertOut] = Field(description="events raised by this message")


class HealthResponse(_Out):
    status: Literal["ok"]


class VersionResponse(_Out):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())  # model_* fields

    library_version: str
    model_format: str
    model_format_version: int
    model_library_version: str = Field(description="library version that trained the model")
    model_train_sha256: str | None = Field(description="hash of the model's training data")
    labels: list[str]
    languages: list[str]
    result_schema_version: int


class ErrorResponse(BaseModel):
    detail: Any = Field(description="the reason: a message, or pydantic's list of errors")


# --- Request-size limit -----------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuses (413) a body over ``max_bytes`` before the app sees it: by ``Content-Length``
    without reading it, else by counting the streamed chunks. The accepted body is buffered
    (at most ``max_bytes``) and replayed to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _error(send, 400, "invalid Content-Length header")
                return
            if length > self.max_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            body: bytes = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> ASGIMessage:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for a disconnect
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        await _error(send, 413, f"request body is larger than this server's limit of "
                                f"{self.max_bytes:,} bytes; send fewer or shorter "
                                f"conversations per request")


async def _error(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# --- The app ----------------------------------------------------------------------------


def _unprocessable(err: Exception) -> HTTPException:
    return HTTPException(status_code=422, detail=str(err))


def _coerce(messages: list[MessageIn], limits: Limits, where: str) -> Conversation:
    """The library's own checks (dates, emptiness, sizes): its message becomes the 422."""
    raw = [m.model_dump(exclude_none=True) for m in messages]
    try:
        return coerce_conversation(raw, limits, where)
    except (InvalidInputError, TypeError) as err:
        raise _unprocessable(err) from None


def _check_locale(locale: str | None) -> None:
    """Refuse an unknown locale whatever the level (guidance is only built above low)."""
    if locale is not None and locale not in LOCALES:
        raise HTTPException(status_code=422, detail=f"no guidance for locale {locale!r}; "
                                                    f"locales: {', '.join(LOCALES)}")


def _result_dict(result: ScoreResult, contributions: bool, guidance: bool,
                 locale: str | None) -> dict[str, Any]:
    return result.to_dict(contributions=contributions,
                          guidance=(locale or True) if guidance else False)


def _pick(body: bool | None, query: bool | None, default: bool) -> bool:
    return body if body is not None else query if query is not None else default


_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "request body over the server's limit"},
    422: {"model": ErrorResponse, "description": "input the library cannot score (the "
                                                 "detail says how to fix it)"},
}


def _check_positive(**values: object) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{name} must be a positive int, got {value!r}")


def create_app(model: Model | str | os.PathLike[str] | None = None, *,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_batch: int = DEFAULT_MAX_BATCH,
               limits: Limits | None = None,
               monitor_limits: MonitorLimits | None = None) -> FastAPI:
    """The service over one model (a ``Model``, a model directory or file, or None for the
    shipped one). One ``Scorer`` and one ``Monitor`` per app; both are thread-safe."""
    _check_positive(max_body_bytes=max_body_bytes, max_batch=max_batch)
    if model is None:
        model = default_model()
    elif not isinstance(model, Model):
        model = load_model(Path(model))
    limits = limits or Limits()
    scorer = Scorer(model, limits=limits)
    monitor = Monitor(model, limits=monitor_limits, input_limits=limits)
    version = VersionResponse(
        library_version=__version__, model_format=FORMAT, model_format_version=FORMAT_VERSION,
        model_library_version=model.library_version,
        model_train_sha256=model.training.get("train_sha256"), labels=list(model.labels),
        languages=list(model.languages), result_schema_version=RESULT_SCHEMA_VERSION)

    def warm_up() -> None:  # loads each language's pipeline before the first request
        scorer.score_many(["hi, how was school today?", "salut, ça va ?"])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm_up)
        yield

    app = FastAPI(
        title="sextortion-signals", version=__version__, lifespan=lifespan,
        description="Explainable detection of grooming of minors and sextortion tactics in "
                    "chat conversations. Scores are calibrated probabilities; every result "
                    "cites the text spans that produced it.")
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.state.scorer = scorer
    app.state.monitor = monitor

    @app.exception_handler(InvalidInputError)
    async def invalid_input(_: Request, err: InvalidInputError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=422)

    @app.post("/score", response_model=ScoreResponse | BatchScoreResponse, responses=_ERRORS,
              summary="Score one conversation or a batch")
    def score(
        request: ScoreRequest,
        contributions: Annotated[bool | None, Query(
            description="per-feature explanation (default false)")] = None,
        guidance: Annotated[bool | None, Query(
            description="next steps at medium/high level (default true)")] = None,
        locale: Annotated[str | None, Query(description="locale of the guidance")] = None,
    ) -> Response:
        with_contributions = _pick(request.contributions, contributions, False)
        with_guidance = _pick(request.guidance, guidance, True)
        where_locale = request.locale or locale
        _check_locale(where_locale)
        if request.conversations is None:
            assert request.messages is not None  # checked by ScoreRequest
            items = [(request.id, _coerce(request.messages, limits, ""))]
        else:
            if len(request.conversations) > max_batch:
                raise HTTPException(
                    status_code=422,
                    detail=f"batch of {len(request.conversations)} conversations is over this "
                           f"server's limit of {max_batch} (max_batch); split it into smaller "
                           f"batches")
            items = [(c.id, _coerce(c.messages, limits, f"conversation {k}"))
                     for k, c in enumerate(request.conversations)]
        results = scorer.score_many([conv for _, conv in items])
        rows = [{"id": ident, **_result_dict(r, with_contributions, with_guidance,
                                             where_locale)}
                for (ident, _), r in zip(items, results, strict=True)]
        return JSONResponse(rows[0] if request.conversations is None else {"results": rows})

    @app.post("/monitor/{conversation_id}", response_model=MonitorResponse, responses=_ERRORS,
              summary="Add one message to an open conversation")
    def monitor_update(
        conversation_id: Annotated[str, PathParam(min_length=1,
                                                  max_length=MAX_CONVERSATION_ID)],
        message: MessageIn,
        contributions: Annotated[bool, Query(
            description="per-feature explanation (default false)")] = False,
        guidance: Annotated[bool, Query(
            description="next steps at medium/high level (default true)")] = True,
        locale: Annotated[str | None, Query(description="locale of the guidance")] = None,
    ) -> Response:
        _check_locale(locale)
        try:  # the monitor checks the message before the conversation's state moves
            update = monitor.update(conversation_id, message.model_dump(exclude_none=True))
        except (InvalidInputError, TypeError) as err:
            raise _unprocessable(err) from None
        return JSONResponse({
            "conversation_id": update.conversation_id,
            "message_index": update.message_index,
            "result": _result_dict(update.result, contributions, guidance, locale),
            "alerts": [a.to_dict() for a in update.alerts],
        })

    @app.delete("/monitor/{conversation_id}", status_code=204,
                summary="Forget an open conversation")
    def monitor_close(conversation_id: Annotated[str, PathParam(
            min_length=1, max_length=MAX_CONVERSATION_ID)]) -> Response:
        monitor.close(conversation_id)
        return Response(status_code=204)

    @app.get("/healthz", response_model=HealthResponse, summary="Liveness")
    async def healthz() -> HealthResponse:
        return HealthResponse(status="ok")

    @app.get("/version", response_model=VersionResponse,
             summary="Library version, model format and training hash")
    async def get_version() -> VersionResponse:
        return version

    return app


def app_from_env() -> FastAPI:
    """The app of a ``run(workers>1)`` worker process (uvicorn imports it by name)."""
    return create_app(os.environ.get(ENV_MODEL) or None,
                      max_batch=int(os.environ.get(ENV_MAX_BATCH, DEFAULT_MAX_BATCH)),
                      max_body_bytes=int(os.environ.get(ENV_MAX_BODY_BYTES,
                                                        DEFAULT_MAX_BODY_BYTES)))


def run(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
        model_path: str | os.PathLike[str] | None = None, workers: int = 1, *,
        max_batch: int = DEFAULT_MAX_BATCH, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        limit_concurrency: int | None = 128, log_level: str = "info") -> None:
    """Serve until interrupted. Binds ``127.0.0.1`` unless ``host`` says otherwise (the
    service has no authentication). ``workers`` > 1 starts that many processes (each loads
    the model; the monitor's open conversations are then per process, so route a
    conversation's messages to one worker or use ``workers=1`` for ``/monitor``).
    ``limit_concurrency`` answers 503 beyond that many open connections and requests."""
    import uvicorn

    _check_positive(workers=workers, max_batch=max_batch, max_body_bytes=max_body_bytes)
    model = load_model(Path(model_path)) if model_path is not None else None  # fail early
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level,
                               "limit_concurrency": limit_concurrency}
    if workers == 1:
        uvicorn.run(create_app(model, max_batch=max_batch, max_body_bytes=max_body_bytes),
                    **options)
        return
    # The worker processes read their settings from the environment; the caller's own
    # environment is given back afterwards.
    settings = {ENV_MODEL: str(Path(model_path)) if model_path is not None else "",
                ENV_MAX_BATCH: str(max_batch), ENV_MAX_BODY_BYTES: str(max_body_bytes)}
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        uvicorn.run("sextortion_signals.serve:app_from_env", factory=True, workers=workers,
                    **options)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
