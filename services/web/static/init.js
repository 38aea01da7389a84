// Progressive enhancement only: every page works without this.
import { initAll } from '/govuk-frontend/govuk-frontend.min.js'

initAll()
