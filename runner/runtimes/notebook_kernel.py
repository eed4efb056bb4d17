# The kernel of a jupyter function's notebook, started through the kernelspec
# that notebook_runner.py writes. jupyter_client starts a kernel in a session
# of its own, out of reach of the kill bucketd sends the environment's process
# group at a timeout, a cancel or too much memory: so the kernel asks to die
# with the runner that started it. Its boto3 reaches bucketd's endpoint as a
# handler's does (the same hook for Debian's older botocore).
import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
if str(os.getppid()) != os.environ.get("JPY_PARENT_PID", str(os.getppid())):
    os._exit(1)  # the runner was gone before the request to die took hold

runtime_dir = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("AWS_ENDPOINT_URL"):
    from python_bootstrap import EndpointUrlHook
    sys.meta_path.insert(0, EndpointUrlHook())
# The notebook imports what a kernel would, not bucketd's runtime files.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != runtime_dir]
sys.argv = ["ipykernel_launcher"] + sys.argv[1:]
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
