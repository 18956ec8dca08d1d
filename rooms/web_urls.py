# Web pages of the rooms app.
from django.urls import path

from . import views

urlpatterns = [
    path("rooms/", views.room_list, name="room-list"),
    path("rooms/new/", views.room_new, name="room-new"),
    path("rooms/<int:room_id>/", views.room_page, name="room-page"),
]
