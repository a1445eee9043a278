  // Windows holding input cell o: oy in [oy_lo, oy_hi], ox in [ox_lo, ox_hi].
  int ay = o.y + ${PAD_TOP};
  int ax = o.z + ${PAD_LEFT};
  int oy_lo = max(0, (ay - ${PH} + ${SH}) / ${SH});
  int oy_hi = min(${OH} - 1, ay / ${SH});
  int ox_lo = max(0, (ax - ${PW} + ${SW}) / ${SW});
  int ox_hi = min(${OW} - 1, ax / ${SW});
