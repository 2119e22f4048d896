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


@never_cache
@login_required
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    may_integrate = may_issue_integration_tokens(request.user)
    issued = None
    status = 200
    if request.method == "POST":
        form = APITokenForm(request.POST, may_issue_integration=may_integrate)
        if form.is_valid():
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
        if issued is None:
            status = 400
        else:
            form = APITokenForm(may_issue_integration=may_integrate)
    else:
        form = APITokenForm(may_issue_integration=may_integrate)
    context = {
        "form": form,
        "issued": issued,
        "tokens": api_tokens_visible(user=request.user),
        "may_integrate": may_integrate,
    }
    # Rendered, not redirected, after a create: the secret exists only in this response.
    return render(request, "leads/api_tokens.html", context, status=status)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_tokens_visible(user=request.user).filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if token is None:
        raise Http404("No such token.")
    api_token_revoke(token=token, by=request.user)
    messages.success(request, f"Revoked “{token.name}”. Requests with it now fail.")
    return redirect("tokens:list")
