package metabase

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// ServerTime reads Metabase's clock from the Date header of GET /api/health. A skew of more than a few minutes
// breaks JWT SSO, because Metabase refuses tokens whose iat is over 180 s old (contract §11).
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	resp, err := c.doResp(ctx, http.MethodGet, "/api/health", nil, nil, nil)
	if resp == nil {
		return time.Time{}, fmt.Errorf("read Metabase's clock: %w", err)
	}
	d := resp.Header.Get("Date")
	if d == "" {
		return time.Time{}, fmt.Errorf("read Metabase's clock: GET /api/health has no Date header")
	}
	t, perr := http.ParseTime(d)
	if perr != nil {
		return time.Time{}, fmt.Errorf("read Metabase's clock: Date header %q: %w", d, perr)
	}
	return t, nil
}
