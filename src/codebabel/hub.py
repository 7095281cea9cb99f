"""Uploading a folder to the Hugging Face Hub: ``--push-to-hub REPO`` and ``codebabel push``.

The real huggingface_hub call path, nothing of our own on the wire: ``HfApi().create_repo(..., exist_ok=True)``
then ``upload_folder`` (which has the Hub check the README's front matter first). The token is huggingface_hub's:
``HF_TOKEN``, else the one ``hf auth login`` saved. The Hub is ``HF_ENDPOINT`` (default huggingface.co).
Every failure is one line: no token, a malformed repo id, the Hub refusing (401, 403, a bad front matter), no
connection. The folder's card is written by the caller before (cards.py and the modules that know the folder).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codebabel.errors import CodebabelError

RepoType = Literal["model", "dataset"]
REPO_TYPES = ("model", "dataset")


@dataclass(frozen=True)
class HubTarget:
    """Where to push: ``repo`` (``owner/name``, or ``name`` under the token's account) and whether a repo created
    by the push is ``private`` (an existing repo keeps its visibility)."""

    repo: str
    private: bool = False

    def __post_init__(self) -> None:
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(self.repo)
        except HFValidationError as e:
            raise CodebabelError(f"repo {self.repo!r}: not a Hub repo id ({_first_line(e)}); write "
                                 "owner/name, e.g. me/ruby-lora") from None

    @classmethod
    def from_flags(cls, repo: str | None, private: bool = False) -> HubTarget | None:
        """``--push-to-hub REPO [--private]``: ``None`` without a repo (``--private`` alone is refused)."""
        if repo is None:
            if private:
                raise CodebabelError("--private: only with --push-to-hub REPO")
            return None
        return cls(repo.strip(), private)


def hub_token() -> str:
    """The Hugging Face token huggingface_hub would use, or a one-line error saying how to give one."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise CodebabelError("push to the Hub: no Hugging Face token; set HF_TOKEN (a token with write access, "
                             "https://huggingface.co/settings/tokens) or run `hf auth login`")
    return token


def push_folder(folder: str | Path, target: HubTarget, repo_type: RepoType, message: str) -> str:
    """Create ``target.repo`` if needed and upload every file of ``folder`` to it in one commit; returns the
    repo's URL. One-line :class:`CodebabelError` on any failure."""
    from huggingface_hub import HfApi

    folder = Path(folder)
    if repo_type not in REPO_TYPES:
        raise CodebabelError(f"--kind {repo_type}: use one of {', '.join(REPO_TYPES)}")
    if not folder.is_dir():
        raise CodebabelError(f"push: '{folder}' is not a folder")
    api = HfApi(token=hub_token())
    try:
        url = api.create_repo(target.repo, repo_type=repo_type, private=target.private or None, exist_ok=True)
        api.upload_folder(repo_id=target.repo, folder_path=str(folder), repo_type=repo_type,
                          commit_message=message)
    except Exception as e:
        err = _hub_error(e, target, api.endpoint)
        if err is None:
            raise
        raise err from None
    return str(url)


def _hub_error(e: Exception, target: HubTarget, endpoint: str) -> CodebabelError | None:
    """The one-line error for a failed push, or ``None`` for an exception that is not the Hub's answer."""
    from huggingface_hub.errors import HfHubHTTPError

    where = f"push to {target.repo}"
    if isinstance(e, HfHubHTTPError):
        status = e.response.status_code if e.response is not None else None
        if status == 401:
            return CodebabelError(f"{where}: the Hub refused the token (401); check HF_TOKEN or `hf auth login`")
        if status == 403:
            return CodebabelError(f"{where}: the token may not write to {target.repo} (403); use a write token "
                                  "or a repo under your account")
        return CodebabelError(f"{where}: the Hub answered {status} ({_first_line(e)})")
    if isinstance(e, ValueError) and "metadata" in str(e):  # upload_folder's check of README.md's front matter
        return CodebabelError(f"{where}: the Hub refused README.md's front matter: "
                              + "; ".join(x.strip("- ") for x in str(e).splitlines()[1:] if x.strip()))
    if isinstance(e, OSError) or type(e).__module__.split(".")[0] in ("httpx", "httpx2", "requests", "urllib3"):
        return CodebabelError(f"{where}: cannot reach the Hub at {endpoint} ({type(e).__name__}: {_first_line(e)})")
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
