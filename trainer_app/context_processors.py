from trainer_app.roles import user_role


def roles(request) -> dict:
    role = user_role(user=request.user) if hasattr(request, "user") else None
    return {"user_role": role}
