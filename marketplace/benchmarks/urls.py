"""URLconf of the benchmark server only (:mod:`marketplace.benchmarks.server`): the site, plus a
trivial view — the baseline of the catalogue figure (same server, same middleware, no work)."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from marketplace.urls import handler404
from marketplace.urls import urlpatterns as site_urlpatterns


@require_GET
def ping(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("__bench__/ping/", ping), *site_urlpatterns]

__all__ = ["handler404", "urlpatterns"]
