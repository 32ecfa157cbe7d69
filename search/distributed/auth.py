"""A shared token between a distributed search's chief and its workers (docs/distributed-security.md).

keras-tuner serves its oracle over an insecure gRPC channel with no authentication: whoever
reaches the chief's port can read the search space and the results, and report trials into it.
Here a chief that listens beyond this machine (a non-loopback --listen) needs a token, set in
FER_SEARCH_TOKEN on the chief and on every worker, or an explicit --trusted-network; a gRPC server
interceptor refuses every call that does not carry it. On loopback neither is needed; local
workers (--workers N) get a fresh token in their environment all the same, so other users of
the machine cannot join. The token is sent in clear (the channel is not encrypted): it keeps
strangers out, not an eavesdropper on the network path.
"""
import collections
import hmac
import ipaddress
import secrets
import socket
import sys

import grpc

from fer.errors import UserError

TOKEN_ENV = "FER_SEARCH_TOKEN"
METADATA_KEY = "x-fer-search-token"
DOCS = "docs/distributed-security.md"
_chief_token: str | None = None  # the token this process's chief requires (None: none)


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) is reachable from this machine only."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def settle_chief_token(host: str, local_only: bool, trusted: bool, environ) -> str | None:
    """The token this chief will require, checked before anything starts: FER_SEARCH_TOKEN when set;
    a fresh one when only local workers will connect (they inherit it); none on loopback or with
    --trusted-network; a one-line UserError for a port open to the network without either."""
    global _chief_token
    token = environ.get(TOKEN_ENV) or None
    if token is None and local_only:
        token = secrets.token_urlsafe(24)  # local workers get it in their environment (worker_env)
    if token is None and not is_loopback(host):
        if not trusted:
            raise UserError(f"--listen {host}: the chief would accept any caller on the network (keras-tuner's "
                            f"oracle has no authentication): set {TOKEN_ENV} to a shared secret on the chief and "
                            f"every worker, or pass --trusted-network if only trusted machines can reach it "
                            f"(see {DOCS})")
        print(f"warning: --trusted-network: the chief at {host} accepts any caller that reaches its port", file=sys.stderr)
    elif token and not local_only:
        print(f"note: the chief takes only workers with the same {TOKEN_ENV} in their environment", file=sys.stderr)
    _chief_token = token
    return token


def worker_env() -> dict:
    """What a local worker's environment adds: the token its chief requires."""
    return {TOKEN_ENV: _chief_token} if _chief_token else {}


def server_interceptors() -> list:
    """For grpc.server(interceptors=...): the token check, when this chief requires one."""
    return [TokenInterceptor(_chief_token)] if _chief_token else []


def _refuse(request, context):
    context.abort(grpc.StatusCode.UNAUTHENTICATED, f"this chief needs the search's token ({TOKEN_ENV})")


class TokenInterceptor(grpc.ServerInterceptor):
    """Passes a call on only when its metadata carries the token (compared in constant time)."""

    def __init__(self, token: str):
        self.token = token.encode()

    def intercept_service(self, continuation, handler_call_details):
        given = dict(handler_call_details.invocation_metadata or ()).get(METADATA_KEY, "")
        if hmac.compare_digest(str(given).encode(), self.token):
            return continuation(handler_call_details)
        return grpc.unary_unary_rpc_method_handler(_refuse)  # every oracle call is unary-unary


class _CallDetails(collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials",
                                                           "wait_for_ready", "compression")),
                   grpc.ClientCallDetails):
    pass


class TokenClient(grpc.UnaryUnaryClientInterceptor):
    """Adds the token to every call of a worker's channel."""

    def __init__(self, token: str):
        self.token = token

    def intercept_unary_unary(self, continuation, details, request):
        metadata = list(details.metadata or []) + [(METADATA_KEY, self.token)]
        return continuation(_CallDetails(details.method, details.timeout, metadata, details.credentials,
                                         getattr(details, "wait_for_ready", None),
                                         getattr(details, "compression", None)), request)


def token_channel(host: str, port: int, token: str | None):
    """A channel to the chief that carries `token` on every call (a plain one without a token)."""
    channel = grpc.insecure_channel(f"{host}:{port}")
    return grpc.intercept_channel(channel, TokenClient(token)) if token else channel


def check_worker_token(host: str, port: int, environ, timeout: float = 30.0) -> None:
    """A worker asks the chief for the search space once: a one-line UserError when it is refused."""
    from keras_tuner.src import protos
    channel = token_channel(host, port, environ.get(TOKEN_ENV) or None)
    try:
        protos.get_service_grpc().OracleStub(channel).GetSpace(protos.get_service().GetSpaceRequest(),
                                                               wait_for_ready=True, timeout=timeout)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.UNAUTHENTICATED:
            raise
        had = "its token differs from the chief's" if environ.get(TOKEN_ENV) else f"{TOKEN_ENV} is not set"
        raise UserError(f"the chief at {host}:{port} refused this worker ({had}): set {TOKEN_ENV} to the "
                        f"chief's token (see {DOCS})") from None
    finally:
        channel.close()


def install_worker_token(host: str, port: int, environ) -> None:
    """Make keras-tuner's OracleClient (a worker's oracle, talking to the chief at host:port) send
    FER_SEARCH_TOKEN with every call."""
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_client
    original = getattr(oracle_client.OracleClient.__init__, "fer_original", oracle_client.OracleClient.__init__)

    def __init__(self, oracle):
        original(self, oracle)
        token = environ.get(TOKEN_ENV) or None
        if token:
            self.stub = protos.get_service_grpc().OracleStub(token_channel(host, port, token))
    __init__.fer_original = original
    oracle_client.OracleClient.__init__ = __init__


def join_chief(host: str, port: int, environ, timeout: float) -> None:
    """A worker, once its chief answers: refused in one line without the right token, and otherwise
    made to send the token with every call of the search."""
    check_worker_token(host, port, environ, timeout)
    install_worker_token(host, port, environ)
