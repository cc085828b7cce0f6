# CPU worker: render (poppler/pdfium), OCR (PP-OCR on ONNX Runtime, Tesseract), layout, rules reader.
# Build from the repository root:  docker build -f deploy/docker/cpu-worker.Dockerfile -t docproc-cpu .
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
RUN pip install --no-cache-dir ".[cluster]"

RUN useradd --create-home --uid 10001 docproc && mkdir -p /data && chown docproc /data
USER docproc
ENV PYTHONUNBUFFERED=1 DOCPROC_ARTIFACTS=/data/artifacts WORKER_CONCURRENCY=2

# acks_late: on SIGTERM a worker finishes its task before it exits; give it the hard limit.
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "exec celery -A workers.app worker -Q cpu --concurrency ${WORKER_CONCURRENCY} --loglevel INFO --without-gossip --without-mingle"]
