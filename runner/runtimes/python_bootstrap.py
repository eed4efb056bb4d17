# bucketd's Python runtime: the program an execution environment of a
# python3.x function runs. It speaks the Lambda Runtime API
# (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) with the
# bucketd that started it: it imports the handler once (init), then takes
# invocations from /invocation/next for as long as it lives, answering each
# with /response or /error. Written by bucketd from AWS's documentation.
import http.client
import importlib
import importlib.abc
import importlib.util
import json
import logging
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
PREFIX = "/2018-06-01/runtime"


class Connection:
    def __init__(self):
        host, port = API.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port))

    def call(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.conn.request(method, PREFIX + path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, dict(r.getheaders()), r.read()
            except (http.client.HTTPException, ConnectionError):
                # The keep-alive connection went away between invocations.
                self.conn.close()
                if attempt:
                    raise


def error_document(e, error_type=None, skip_runtime_frame=True):
    # The handler's frames only, as Lambda shows them: not the runtime's call.
    tb = e.__traceback__.tb_next if skip_runtime_frame and e.__traceback__ is not None else e.__traceback__
    frames = traceback.extract_tb(tb)
    return {
        "errorMessage": str(e),
        "errorType": error_type or type(e).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record):
        record.aws_request_id = RequestIdFilter.request_id
        return True


def setup_logging():
    # What Lambda's runtime installs on the root logger (its level stays
    # WARNING until the handler sets it, as in Lambda).
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


def load_handler(conn):
    name = os.environ["_HANDLER"]
    module_name, _, function_name = name.rpartition(".")
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as e:
        kind = "Runtime.ImportModuleError" if isinstance(e, ImportError) else "Runtime.UserCodeSyntaxError" \
            if isinstance(e, SyntaxError) else type(e).__name__
        doc = error_document(e, kind, skip_runtime_frame=False)
        doc["errorMessage"] = "Unable to import module '%s': %s" % (module_name, e)
        fail_init(conn, doc)
    handler = getattr(module, function_name, None)
    if handler is None:
        fail_init(conn, {"errorMessage": "Handler '%s' missing on module '%s'" % (function_name, module_name),
                         "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []})
    return handler


def fail_init(conn, doc):
    print(json.dumps(doc), file=sys.stderr, flush=True)
    conn.call("POST", "/init/error", json.dumps(doc).encode(),
              {"Lambda-Runtime-Function-Error-Type": doc["errorType"], "Content-Type": "application/json"})
    sys.exit(1)


class EndpointUrlHook(importlib.abc.MetaPathFinder):
    """Makes a botocore older than 1.31 (Debian's 1.29) honour AWS_ENDPOINT_URL
    and AWS_ENDPOINT_URL_<SERVICE>, as newer ones do, so that boto3 in a
    handler reaches bucketd with no configuration. Patches botocore.session
    when the handler first imports it; a newer botocore is left alone."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.session":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            EndpointUrlHook.patch(module)

        spec.loader.exec_module = exec_module
        return spec

    @staticmethod
    def patch(module):
        import botocore.configprovider
        if hasattr(botocore.configprovider, "ConfiguredEndpointProvider"):
            return
        create_client = module.Session.create_client

        def with_endpoint(self, service_name, *args, **kwargs):
            # endpoint_url is create_client's fifth parameter after the name.
            if len(args) < 5 and kwargs.get("endpoint_url") is None:
                url = os.environ.get("AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_")) or \
                    os.environ.get("AWS_ENDPOINT_URL")
                if url:
                    kwargs["endpoint_url"] = url
            return create_client(self, service_name, *args, **kwargs)

        module.Session.create_client = with_endpoint


def main():
    if os.environ.get("AWS_ENDPOINT_URL"):
        sys.meta_path.insert(0, EndpointUrlHook())
    conn = Connection()
    setup_logging()
    handler = load_handler(conn)
    while True:
        status, headers, body = conn.call("GET", "/invocation/next")
        if status != 200:
            print("bucketd's runtime API answered %d to /invocation/next" % status, file=sys.stderr, flush=True)
            sys.exit(1)
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
        RequestIdFilter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id", "")
        try:
            event = json.loads(body) if body else None
            result = handler(event, Context(headers))
            payload = json.dumps(result).encode()
        except Exception as e:
            doc = error_document(e)
            doc["requestId"] = request_id
            print(json.dumps(doc), file=sys.stderr, flush=True)
            conn.call("POST", "/invocation/%s/error" % request_id, json.dumps(doc).encode(),
                      {"Lambda-Runtime-Function-Error-Type": "Unhandled", "Content-Type": "application/json"})
            continue
        conn.call("POST", "/invocation/%s/response" % request_id, payload, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
