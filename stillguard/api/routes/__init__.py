"""One module per resource; each is an APIRouter that `stillguard.api.app` includes."""
