# HTTP API (`docproc serve`); shares the ledger and the /data volume with the workers.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils tesseract-ocr tesseract-ocr-eng \
      tesseract-ocr-rus fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY docproc ./docproc
COPY workers ./workers
COPY schemas ./schemas
RUN pip install --no-cache-dir ".[api,cluster]"

RUN useradd --create-home --uid 10001 docproc && mkdir -p /data && chown docproc /data
USER docproc
ENV PYTHONUNBUFFERED=1 DOCPROC_ARTIFACTS=/data/artifacts
EXPOSE 8000
CMD ["docproc", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data/api"]
