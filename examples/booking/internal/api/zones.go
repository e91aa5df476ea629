package api

import (
	"net/http"

	"github.com/idemkit/idemkit/httpx"
)

// zoneResponse is a zone as the API shows it.
type zoneResponse struct {
	ZoneID    string `json:"zone_id"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
}

func (h *handlers) getZone(w http.ResponseWriter, r *http.Request) error {
	z, err := h.svc.Zone(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, zoneResponse{ZoneID: z.ID, Capacity: z.Capacity, Available: z.Available})
}
