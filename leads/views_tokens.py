"""The API tokens page: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from leadops.errors import ApplicationError
from leads.forms import MAX_ID
from leads.forms_tokens import APITokenForm
from leads.selectors_api_tokens import api_tokens_visible
from leads.services.api_tokens import api_token_create, api_token_revoke, may_issue_integration_tokens

ISSUED_KEY = "api_token_issued"


@never_cache
@login_required
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    may_integrate = may_issue_integration_tokens(request.user)
    form = APITokenForm(request.POST or None, may_issue_integration=may_integrate)
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_create(
                user=request.user,
                by=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                kind=form.cleaned_data["kind"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            # Post/redirect/get, so reloading the page cannot issue a second token. The secret rides in
            # the session for that one redirect and is removed by the GET that shows it.
            request.session[ISSUED_KEY] = {"id": issued.token.pk, "secret": issued.secret}
            return redirect("tokens:list")
    tokens = api_tokens_visible(user=request.user)
    issued = request.session.pop(ISSUED_KEY, None) if request.method == "GET" else None
    if issued:
        issued["token"] = tokens.filter(pk=issued["id"]).first()
    context = {"form": form, "issued": issued, "tokens": tokens, "may_integrate": may_integrate}
    return render(request, "leads/api_tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_tokens_visible(user=request.user).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if token is None:
        raise Http404("No such token.")
    api_token_revoke(token=token, by=request.user)
    messages.success(request, f"Revoked “{token.name}”. Requests with it now fail.")
    return redirect("tokens:list")
