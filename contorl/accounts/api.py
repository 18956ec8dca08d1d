from django.contrib.auth import user_logged_in
from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from contorl import ratelimits
from contorl.versioning import require_version

from . import services
from .models import Department, User
from .permissions import IsSystemAdmin
from .tokens import TokenRefreshSerializer


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "code", "version"]
        read_only_fields = ["version"]


class UserSerializer(serializers.ModelSerializer):
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all(), allow_null=True, required=False)
    department_name = serializers.CharField(source="department.name", read_only=True, default=None)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "first_name",
            "last_name",
            "email",
            "department",
            "department_name",
            "role",
            "is_department_manager",
            "is_system_admin",
            "weekly_capacity_hours",
            "email_notifications",
            "version",
        ]
        read_only_fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "is_system_admin",
            "weekly_capacity_hours",
            "email_notifications",
            "version",
        ]


class PreferencesSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    email_notifications = serializers.BooleanField()


class RoleChangeSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    role = serializers.ChoiceField(choices=User.Role.choices, required=False)
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all(), allow_null=True, required=False)
    is_department_manager = serializers.BooleanField(required=False)


class AdminChangeSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    is_system_admin = serializers.BooleanField()


class UserViewSet(
    ratelimits.RateLimitedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Everyone signed in may list users (to assign and mention); only admins change them."""

    serializer_class = UserSerializer
    rate_tiers = {"partial_update": ratelimits.SENSITIVE, "admin": ratelimits.SENSITIVE}
    filterset_fields = ["department", "role", "is_department_manager"]

    def get_queryset(self):
        qs = User.objects.filter(is_active=True).select_related("department").order_by("username")
        q = self.request.query_params.get("q", "").strip()[:100]
        if q:
            qs = qs.filter(Q(username__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q))
        return qs

    def get_permissions(self):
        if self.action in ("partial_update", "admin"):
            return [IsSystemAdmin()]
        return super().get_permissions()

    @extend_schema(methods=["PATCH"], request=PreferencesSerializer(partial=False), responses=UserSerializer)
    @action(detail=False, methods=["get", "patch"])
    def me(self, request):
        """You; PATCH changes your own preferences (email_notifications), with your version."""
        if request.method == "PATCH":
            require_version(request.data)
            data = PreferencesSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.user_set_preferences(user=request.user, **data.validated_data)
            request.user.refresh_from_db()
        return Response(self.get_serializer(request.user).data)

    @extend_schema(request=RoleChangeSerializer(partial=False), responses=UserSerializer)
    def partial_update(self, request, pk=None):
        user = self.get_object()
        require_version(request.data)
        data = RoleChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        version = fields.pop("version")
        user = services.user_update_role(user=user, version=version, by=request.user, request=request, **fields)
        return Response(self.get_serializer(user).data)

    @extend_schema(request=AdminChangeSerializer(partial=False), responses=UserSerializer)
    @action(detail=True, methods=["patch"])
    def admin(self, request, pk=None):
        user = self.get_object()
        require_version(request.data)
        data = AdminChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_set_admin(user=user, by=request.user, request=request, **data.validated_data)
        return Response(self.get_serializer(user).data)


class DepartmentViewSet(ratelimits.RateLimitedViewMixin, viewsets.ModelViewSet):
    serializer_class = DepartmentSerializer
    queryset = Department.objects.all()
    rate_tiers = {
        "create": ratelimits.SENSITIVE,
        "partial_update": ratelimits.SENSITIVE,
        "update": ratelimits.SENSITIVE,
        "destroy": ratelimits.SENSITIVE,
    }
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        if self.action not in ("list", "retrieve"):
            return [IsSystemAdmin()]
        return super().get_permissions()

    def perform_create(self, serializer):
        serializer.instance = services.department_create(
            by=self.request.user, request=self.request, **serializer.validated_data
        )

    def partial_update(self, request, pk=None):
        department = self.get_object()
        version = require_version(request.data)
        data = self.get_serializer(department, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        department = services.department_update(
            department=department, version=version, by=request.user, request=request, **data.validated_data
        )
        return Response(self.get_serializer(department).data)


class TokenView(TokenObtainPairView):
    """JWT pair for API clients; sensitive tier; failed attempts are audited."""

    permission_classes = [AllowAny]

    def post(self, request, *args, **kwargs):
        ratelimits.check(request, ratelimits.SENSITIVE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)  # a failure is audited by the login_failed signal
        user_logged_in.send(sender=type(serializer.user), request=request._request, user=serializer.user)
        return Response(serializer.validated_data)


class TokenRefresh(TokenRefreshView):
    permission_classes = [AllowAny]
    serializer_class = TokenRefreshSerializer

    def post(self, request, *args, **kwargs):
        ratelimits.check(request, ratelimits.SENSITIVE)
        return super().post(request, *args, **kwargs)
