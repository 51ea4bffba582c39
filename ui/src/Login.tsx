import { Box, Button, Card, CardContent, TextField, Typography } from '@mui/material';
import { useState, type FormEvent } from 'react';
import { useLogin, useNotify } from 'react-admin';

export function Login() {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const login = useLogin();
  const notify = useNotify();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    login({ token })
      .catch((err: Error) => notify(err.message || 'Sign-in failed', { type: 'error' }))
      .finally(() => setBusy(false));
  };
  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', bgcolor: '#eceff1' }}>
      <Card sx={{ width: 380, maxWidth: '94vw' }}>
        <CardContent component="form" onSubmit={submit}>
          <Typography variant="h5" gutterBottom>
            Tapir
          </Typography>
          <Typography variant="body2" color="text.secondary" gutterBottom>
            Sign in with an API token. Create one on the collector host with <code>tapir token create</code>.
          </Typography>
          <TextField
            fullWidth
            margin="normal"
            label="API token"
            type="password"
            name="token"
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoFocus
          />
          <Button fullWidth variant="contained" type="submit" disabled={busy}>
            Sign in
          </Button>
        </CardContent>
      </Card>
    </Box>
  );
}
