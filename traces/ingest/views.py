"""PostHog-compatible ingestion endpoints. (Being built: see issue 2.)"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def posthog_batch(request):
    return JsonResponse({"error": "not implemented yet"}, status=501)


@csrf_exempt
@require_POST
def posthog_capture(request):
    return JsonResponse({"error": "not implemented yet"}, status=501)
