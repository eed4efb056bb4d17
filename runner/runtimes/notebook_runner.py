# bucketd's jupyter runtime: the handler of every "Runtime": "jupyter"
# function, run by bucketd's Python runtime like any handler (so it has the
# function's role credentials, AWS_ENDPOINT_URL, its Timeout and MemorySize).
# It does what the seed's SageMaker processing job did with papermill: takes
# the notebook the event names from the bucket, injects the parameters after
# the cell tagged "parameters", executes it with nbclient on an ipykernel
# kernel, and writes the executed notebook and its HTML (nbconvert) under
# output_prefix. A cell that raises fails the invocation with its traceback,
# after the partly executed notebook is written.
#
# The event: {"input_path": "s3://bucket/dir/nb.ipynb",
#             "output_prefix": "s3://bucket/out/"   (default: dir/OUTPUT/),
#             "parameters": {...}                   (default: the event's other keys)}
# or S3's Records / an EventBridge Object Created event naming a .ipynb.
import json
import os
import re
import sys
import urllib.parse

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RESERVED = ("input_path", "output_prefix", "parameters")


class NotebookError(Exception):
    """What is wrong with the event or the notebook before any cell runs."""


class CellExecutionError(Exception):
    """A cell raised: the message is the cell's traceback."""


def s3_url(url, what):
    if not isinstance(url, str) or not url.startswith("s3://") or "/" not in url[5:]:
        raise NotebookError("%s %r: expected s3://bucket/key" % (what, url))
    bucket, _, key = url[5:].partition("/")
    return bucket, key


def source_of(event):
    """The notebook's bucket and key, and the parameters the event gives."""
    if not isinstance(event, dict):
        raise NotebookError("the event is %s: expected an object with input_path" % type(event).__name__)
    if "input_path" in event:
        bucket, key = s3_url(event["input_path"], "input_path")
        params = event.get("parameters")
        if params is None:
            params = {k: v for k, v in event.items() if k not in RESERVED}
        return bucket, key, params
    if event.get("Records"):
        s3 = event["Records"][0].get("s3", {})
        bucket, key = s3.get("bucket", {}).get("name"), s3.get("object", {}).get("key")
        key = urllib.parse.unquote_plus(key) if key else key
    elif isinstance(event.get("detail"), dict):
        bucket = event["detail"].get("bucket", {}).get("name")
        key = event["detail"].get("object", {}).get("key")
    else:
        bucket = key = None
    if not bucket or not key:
        raise NotebookError("the event names no notebook: expected input_path (s3://bucket/key.ipynb), "
                            "S3's Records or an EventBridge Object Created event")
    return bucket, key, {"bucket": bucket, "key": key}


def output_of(event, bucket, key):
    prefix = event.get("output_prefix") if isinstance(event, dict) else None
    if prefix is None:
        folder = key.rpartition("/")[0]
        return bucket, (folder + "/" if folder else "") + "OUTPUT/"
    if isinstance(prefix, str) and not prefix.endswith("/"):
        prefix += "/"
    return s3_url(prefix, "output_prefix")


def parameterize(nb, parameters):
    """papermill's way: a cell tagged injected-parameters right after the one
    tagged parameters (else first), replacing one injected before."""
    import nbformat
    for name in parameters:
        if not isinstance(name, str) or not name.isidentifier():
            raise NotebookError("parameter %r: expected a Python identifier" % (name,))
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    lines = ["# Parameters"] + ["%s = %r" % (k, v) for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell(source="\n".join(lines) + "\n")
    cell.metadata["tags"] = ["injected-parameters"]
    at = 0
    for i, c in enumerate(nb.cells):
        if "parameters" in c.get("metadata", {}).get("tags", []):
            at = i + 1
            break
    nb.cells.insert(at, cell)


def kernel_spec(work):
    """A kernelspec of bucketd's: ipykernel through notebook_kernel.py."""
    root = os.path.join(work, "jupyter")
    spec = os.path.join(root, "kernels", "bucketd-python3")
    os.makedirs(spec, exist_ok=True)
    launcher = os.path.join(os.environ["LAMBDA_TASK_ROOT"], "notebook_kernel.py")
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump({"argv": [sys.executable, launcher, "-f", "{connection_file}"],
                   "display_name": "Python 3 (bucketd)", "language": "python"}, f)
    os.environ["JUPYTER_PATH"] = root
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(root, "runtime")
    os.environ["JUPYTER_CONFIG_DIR"] = os.path.join(root, "config")
    os.environ["IPYTHONDIR"] = os.path.join(root, "ipython")
    return "bucketd-python3"


def handler(event, context):
    bucket, key, parameters = source_of(event)
    if not key.endswith(".ipynb"):
        raise NotebookError("s3://%s/%s: expected a notebook (.ipynb)" % (bucket, key))
    out_bucket, out_prefix = output_of(event, bucket, key)
    stem = key.rpartition("/")[2][:-len(".ipynb")]
    out_key = out_prefix + stem + ".ipynb"
    if (out_bucket, out_key) == (bucket, key):
        raise NotebookError("output_prefix s3://%s/%s would overwrite the notebook" % (out_bucket, out_prefix))
    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise NotebookError("a jupyter function reads and writes its notebooks through bucketd's endpoint, "
                            "which is not enabled (bucketd.json: Endpoint)")
    import boto3
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError as NbCellError
    s3 = boto3.client("s3")
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        nb = nbformat.reads(text.decode("utf-8"), as_version=4)
    except Exception as e:
        raise NotebookError("s3://%s/%s is not a notebook: %s" % (bucket, key, e)) from None
    parameterize(nb, parameters)
    work = os.path.join(os.environ.get("TMPDIR", "/tmp"), "notebook-" + context.aws_request_id)
    os.makedirs(work, exist_ok=True)
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    print("executing s3://%s/%s (%d code cells) with parameters %s" % (bucket, key, code_cells,
                                                                        json.dumps(parameters, default=str)))
    client = NotebookClient(nb, kernel_name=kernel_spec(work), timeout=None,
                            resources={"metadata": {"path": work}})
    failure = None
    try:
        client.execute()
    except NbCellError as e:
        failure = e
    finally:
        written = write_outputs(s3, nb, out_bucket, out_prefix, stem)
    if failure is not None:
        index, count, traceback = failed_cell(nb)
        raise CellExecutionError("cell %d (In [%s]) raised %s: %s\n%s" % (
            index, count, failure.ename, failure.evalue, ANSI.sub("", traceback or failure.traceback).strip()))
    return {"input_path": "s3://%s/%s" % (bucket, key), "parameters": parameters,
            "executed_cells": code_cells, **written}


def failed_cell(nb):
    """The first cell with an error output: its index (from 1, as a reader
    counts), execution count and traceback."""
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                return i + 1, c.get("execution_count"), "\n".join(o.get("traceback", []))
    return 0, None, None


def write_outputs(s3, nb, bucket, prefix, stem):
    import nbformat
    from nbconvert import HTMLExporter
    notebook_key, html_key = prefix + stem + ".ipynb", prefix + stem + ".html"
    s3.put_object(Bucket=bucket, Key=notebook_key, Body=nbformat.writes(nb).encode("utf-8"),
                  ContentType="application/x-ipynb+json")
    html, _ = HTMLExporter().from_notebook_node(nb)
    s3.put_object(Bucket=bucket, Key=html_key, Body=html.encode("utf-8"), ContentType="text/html")
    print("wrote s3://%s/%s and s3://%s/%s" % (bucket, notebook_key, bucket, html_key))
    return {"output_notebook": "s3://%s/%s" % (bucket, notebook_key), "output_html": "s3://%s/%s" % (bucket, html_key)}
