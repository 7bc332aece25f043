"""A bare FastAPI app: the floor that gridsvc's submission endpoint is compared with."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Report(BaseModel):
    lon: float
    lat: float
    category: str
    description: str


@app.post("/api/v1/issues", status_code=201)
def submit(report: Report) -> dict:
    return {"id": 1, "status": "reported", "lon": report.lon, "lat": report.lat}
