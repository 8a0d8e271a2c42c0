"""OGC API – Processes routes: the proximity analysis as the process ``proximity``, run as /api/proximity runs
it (same slots, time budget, limits and answer). An asynchronous execution (``Prefer: respond-async``) is
run before the answer too and kept as a saved analysis: its job is done when the client first asks."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from geo_service.errors import InvalidParameterError, NotFoundError
from geo_service.i18n import Text
from geo_service.ogc import processes
from geo_service.ogc.query import parse_simple_query
from geo_service.web.context import (
    get_results,
    get_settings,
    get_slots,
    get_store,
    request_language,
)
from geo_service.web.guard import is_token_holder
from geo_service.web.proximity import _analyse, _encode, _save, inputs, result_api
from geo_service.web.urls import ogc_base

bp = Blueprint("ogc_processes", __name__, url_prefix="/ogc")


def _json(document: dict, status: int = 200, **headers) -> Response:
    return Response(current_app.json.dumps(document), status=status, mimetype="application/json", headers=headers)


def _process(process_id: str) -> None:
    if process_id != processes.PROCESS_ID:
        raise NotFoundError(Text("error", "no process {id}; this service runs {known}",
                                 {"id": repr(process_id), "known": processes.PROCESS_ID}))


@bp.get("/processes")
def list_processes():
    parse_simple_query(request.args.to_dict(flat=False))
    return _json(processes.processes_document(ogc_base(), request_language()))


@bp.get("/processes/<process_id>")
def describe(process_id: str):
    parse_simple_query(request.args.to_dict(flat=False))
    _process(process_id)
    return _json(processes.process_document(ogc_base(), list(get_store().catalogue.ids), request_language()))


@bp.post("/processes/<process_id>/execution")
def execute(process_id: str):
    _process(process_id)
    settings = get_settings()
    if request.content_length is not None and request.content_length > 2 * settings.limits.upload_bytes:
        raise InvalidParameterError(Text("error", "the execute request is larger than {mb} MB",
                                         {"mb": 2 * settings.limits.upload_mb}))
    values, files = processes.execute_fields(request.get_data(cache=False), list(get_store().catalogue.ids))
    client = (request.remote_addr or "unknown") if files and not is_token_holder() else None
    asynchronous = "respond-async" in request.headers.get("Prefer", "")
    with get_slots().slot(client=client):
        parsed = inputs.parse_request(values, files)
        report = _analyse(parsed, settings)
        if not asynchronous:
            return Response(_encode(report, parsed), mimetype="application/json")
        job_id = _save(parsed, values, files)
    href = f"{ogc_base()}/jobs/{job_id}"
    return _json(processes.job_document(ogc_base(), job_id), 201, Location=href,
                 **{"Preference-Applied": "respond-async"})


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    get_results().open(job_id)  # 404 for an unknown or expired job
    return _json(processes.job_document(ogc_base(), job_id))


@bp.get("/jobs/<job_id>/results")
def job_results(job_id: str):
    return result_api(job_id)
